"""Member signatures in the publish path: verify what arrives signed, sign what does not.

``docs/signing.md`` specifies the signature (ITU-T X.590 JSS in the Forum's signing
extension) and section 11 the exchange's policy, which this module implements:

- an object that arrives signed is verified against the publisher's registered keys (and the
  Forum's) and stored as sent, never re-signed; a wrong, tampered or out-of-life signature is
  refused with the verifier's reason;
- an unsigned object is signed with the publisher's custodial key while the member has
  custodial signing on, and refused once it has switched it off;
- objects published "via the Forum" lose every trace of their publisher and are signed by the
  Forum (anonymised sharing);
- an extension-definition is never signed in-object (STIX 2.1 section 7.3 forbids it
  ``extensions``): a signature note (``jss.definition_attestation``) carries its signature,
  sent before it or made by the exchange (section 12);
- the official OASIS TLP 2.0 objects are stored exactly as OASIS publishes them, unsigned.

One :class:`PublishSigning` serves one publish request: the key sets are read and the
custodial key decrypted once, not per object. :class:`SignatureChecker` verifies stored
versions for the pages that show signature states (the analyst console), with the same key
sets and the same signature-note lookup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from members.keystore import custodial_signer, forum_signer
from members.models import Member
from members.selectors import member_jwks
from signatures.models import StixObject
from signatures.sdk import jss
from signatures.sdk.constants import SIGNING_EXTENSION_ID
from signatures.validation import ObjectRefused, PreparedObject


def without_signatures(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``obj`` without the signing extension (and without an emptied extensions)."""
    result = dict(obj)
    extensions = result.get("extensions")
    if isinstance(extensions, Mapping) and SIGNING_EXTENSION_ID in extensions:
        rest = {name: body for name, body in extensions.items() if name != SIGNING_EXTENSION_ID}
        if rest:
            result["extensions"] = rest
        else:
            del result["extensions"]
    return result


def members_verifier(members: Iterable[Member]) -> jss.Verifier:
    """A verifier of the members' published JWK Sets: every key each ever had, with its life
    (``members.selectors.member_jwks``), so old signatures verify and later ones do not."""
    unique = {member.pk: member for member in members}
    return jss.Verifier([member_jwks(member) for member in unique.values()])


def stored_attestations(
    verifier: jss.Verifier, definition: Mapping[str, Any]
) -> list[jss.Attestation]:
    """What the stored signature note of this extension-definition version vouches for.

    The note is found by the id ``jss.definition_attestation`` derives from the definition's
    creator, id and version (docs/signing.md section 12), the id the exchange stores it under.
    """
    note_id = jss.definition_attestation(definition)["id"]
    attestations: list[jss.Attestation] = []
    for raw in StixObject.objects.filter(stix_id=note_id).values_list("raw", flat=True):
        note = orjson.loads(raw)
        attestations += jss.attestations_of(note, verifier.verify(note))
    return attestations


class PublishSigning:
    """The signing step of one publish request by ``member`` (after validation, before storing).

    ``via_forum`` re-publishes each object as the Forum's (anonymised sharing);
    ``forum_signs`` has the Forum sign unsigned objects, for the identity objects the
    exchange writes itself (the Forum vouches for the key list they carry).
    """

    def __init__(
        self, *, member: Member, forum: Member, via_forum: bool, forum_signs: bool
    ) -> None:
        self.member = member
        self.forum = forum
        self.via_forum = via_forum
        self.forum_signs = forum_signs
        self._verifier: jss.Verifier | None = None
        self._signer: jss.Signer | None = None
        self._signer_loaded = False
        #: What the signature notes of this request vouch for, as they are verified.
        self._attestations: list[jss.Attestation] = []
        #: Signature notes the exchange made for extension-definitions of this request;
        #: the publish path stores them next to the definitions.
        self.companions: list[dict[str, Any]] = []

    @property
    def verifier(self) -> jss.Verifier:
        if self._verifier is None:
            self._verifier = members_verifier([self.member, self.forum])
        return self._verifier

    def _unsigned_signer(self) -> jss.Signer | None:
        """The key that signs unsigned objects of this request, decrypted once."""
        if not self._signer_loaded:
            self._signer_loaded = True
            if self.via_forum or self.forum_signs:
                self._signer = forum_signer()
            if self._signer is None and not self.via_forum:
                self._signer = custodial_signer(self.member)
        return self._signer

    def apply(self, item: PreparedObject) -> None:
        """Verify or sign ``item`` in place, or raise ObjectRefused saying why."""
        if item.type == "extension-definition":
            self._apply_to_definition(item)
            return
        data = item.data
        report = self.verifier.verify(data)
        if report.status == "official":
            return  # Served exactly as OASIS publishes it.
        self._attestations += jss.attestations_of(data, report)
        if report.status == "invalid":
            raise ObjectRefused(f"{item.stix_id}: signature refused: {report.reason}")
        if report.status == "valid" and self.member.identity_id not in report.signees:
            raise ObjectRefused(
                f"{item.stix_id}: not signed by you ({self.member.identity_id}); signed by "
                f"{', '.join(report.signees)}"
            )
        if report.status == "unsigned" and not (self.member.custodial_signing or self.forum_signs):
            raise ObjectRefused(
                f"{item.stix_id}: unsigned; {self.member.name} has custodial signing off, so "
                "each object must carry your signature (docs/signing.md section 3) made with "
                "one of your registered keys"
            )
        if self.via_forum:
            data = self._anonymised(item)
        elif report.status == "valid":
            return  # Stored exactly as signed: never re-signed.
        signer = self._unsigned_signer()
        if signer is None:
            whose = "the Forum has" if self.via_forum else f"{self.member.name} has"
            raise ObjectRefused(
                f"{item.stix_id}: unsigned, and {whose} no active custodial key to sign it "
                "(rotate_key creates one)"
            )
        item.data = signer.sign(data)
        if item.type == "note":
            # A signature note signed just now vouches for definitions later in the request.
            self._attestations += jss.attestations_of(item.data, self.verifier.verify(item.data))

    def _apply_to_definition(self, item: PreparedObject) -> None:
        """An extension-definition: official, or signed through a signature note.

        STIX 2.1 section 7.3 does not list ``extensions`` among its properties, so one that
        carries any is refused, signed or not. Its signature is a note that names it: one
        sent earlier in this request (verified when it was applied) or one already stored.
        Without it, the exchange makes the note itself, signed with the key that signs the
        publisher's unsigned objects, on the same terms as for them.
        """
        if "extensions" in item.data:
            raise ObjectRefused(
                f"{item.stix_id}: property 'extensions' is not allowed on an "
                "extension-definition (STIX 2.1 section 7.3); its signature travels in a "
                "signature note instead (docs/signing.md section 12)"
            )
        if jss.is_official(item.data):
            return
        if self.via_forum:
            item.data = self._anonymised(item)
        definition = item.data
        report = self.verifier.verify_definition(definition, self._attestations)
        if report.status == "unsigned":
            report = self.verifier.verify_definition(
                definition, stored_attestations(self.verifier, definition)
            )
        if report.status == "invalid":
            raise ObjectRefused(f"{item.stix_id}: signature refused: {report.reason}")
        if report.status == "valid":
            return
        if not (self.member.custodial_signing or self.forum_signs or self.via_forum):
            raise ObjectRefused(
                f"{item.stix_id}: unsigned; {self.member.name} has custodial signing off, so "
                "send its signature note (docs/signing.md section 12), signed with one of "
                "your registered keys, before it in the same request"
            )
        signer = self._unsigned_signer()
        if signer is None:
            raise ObjectRefused(
                f"{item.stix_id}: unsigned, and there is no active custodial key to sign its "
                "signature note (rotate_key creates one)"
            )
        self.companions.append(signer.sign(jss.definition_attestation(definition)))

    def _anonymised(self, item: PreparedObject) -> dict[str, Any]:
        """The object as the Forum re-publishes it: the Forum's, with no trace of the lab."""
        data = without_signatures(item.data)
        if "created_by_ref" in data:
            data["created_by_ref"] = self.forum.identity_id
        if self.member.identity_id in orjson.dumps(data).decode():
            raise ObjectRefused(
                f"{item.stix_id}: names your identity ({self.member.identity_id}) besides "
                "created_by_ref, which would reveal you; remove it to publish through the Forum"
            )
        item.created_by_ref = data.get("created_by_ref", "")
        return data


@dataclass(frozen=True, slots=True)
class Verification:
    """The signature state of a stored version, as verified against the members' keys."""

    status: jss.Status
    reason: str
    signees: tuple[str, ...] = ()
    #: The member names of the signees whose signatures verified.
    signed_by: tuple[str, ...] = ()


class SignatureChecker:
    """Verifies stored versions exactly as served, for pages that show signature states.

    Build one per request: the key sets of every member (retired and revoked keys included,
    with their life) are read once, at the first check, and each version is verified once.
    An extension-definition is verified through its stored signature note and the official
    OASIS objects by value (docs/signing.md section 12), as the publish path does.
    """

    def __init__(self) -> None:
        self._verifier: jss.Verifier | None = None
        self._names: dict[str, str] = {}
        self._checked: dict[int, Verification] = {}

    @property
    def verifier(self) -> jss.Verifier:
        if self._verifier is None:
            members = list(Member.objects.filter(signing_keys__isnull=False).distinct())
            self._verifier = members_verifier(members)
            self._names = {member.identity_id: member.name for member in members}
        return self._verifier

    def check(self, obj: StixObject) -> Verification:
        checked = self._checked.get(obj.pk)
        if checked is None:
            # Verify the stored text exactly as served: any re-serialisation breaks signatures.
            data = orjson.loads(obj.raw)
            report = self.verifier.verify(data)
            if report.status == "unsigned" and obj.type == "extension-definition":
                report = self.verifier.verify_definition(
                    data, stored_attestations(self.verifier, data)
                )
            signed_by = tuple(self._names.get(signee, signee) for signee in report.signees)
            checked = Verification(report.status, report.reason, report.signees, signed_by)
            self._checked[obj.pk] = checked
        return checked
