"""members/services.py: tokens issued and revoked, the audit log, custodial signing and the
members allowed a lab's TLP:AMBER+STRICT objects, each change audited once."""

from __future__ import annotations

from datetime import timedelta
from types import MappingProxyType

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone

from members.models import ApiToken, AuditEvent, KeyState, Member, SigningKey
from members.services import (
    amber_strict_recipients_set,
    audit_record,
    custodial_signing_set,
    token_issue,
    token_revoke,
)
from signatures.sdk import jss
from signatures.services.identity import signing_key_register, signing_key_revoke


@pytest.fixture
def operator(db: None) -> User:
    return User.objects.create_user("operator")


def registered_key(member: Member) -> SigningKey:
    public_key = Ed25519PrivateKey.generate().public_key()
    return signing_key_register(member=member, jwk=jss.public_jwk(public_key))


# --- token_issue -----------------------------------------------------------------------------


def test_it_stores_only_a_hash_of_the_token(lab_a: Member) -> None:
    token, raw = token_issue(member=lab_a, scopes=["read"])
    assert raw not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    assert raw.startswith(f"isac_{token.prefix}_")
    assert token.token_hash == ApiToken.hash(raw)


def test_it_issues_a_token_with_its_scopes_once_each_in_order(lab_a: Member) -> None:
    token, _ = token_issue(member=lab_a, scopes=["publish", "read", "publish"], name="ci")
    row = ApiToken.objects.get(pk=token.pk)
    assert (row.member, row.name, row.scopes) == (lab_a, "ci", ["publish", "read"])
    assert row.expires_at is None and row.revoked_at is None


def test_it_sets_the_expiry_from_now(lab_a: Member) -> None:
    before = timezone.now()
    token, _ = token_issue(member=lab_a, scopes=["read"], expires_in=timedelta(days=30))
    after = timezone.now()
    assert token.expires_at is not None
    assert before + timedelta(days=30) <= token.expires_at <= after + timedelta(days=30)


def test_it_gives_the_forum_the_admin_scope(forum: Member) -> None:
    token, _ = token_issue(member=forum, scopes=["admin"])
    assert token.scopes == ["admin"]


@pytest.mark.parametrize(
    ("kind_fixture", "scopes"),
    [("partner", ["publish"]), ("partner", ["admin"]), ("lab_a", ["admin"])],
)
def test_it_refuses_scopes_beyond_the_members_kind(
    request: pytest.FixtureRequest, kind_fixture: str, scopes: list[str]
) -> None:
    member = request.getfixturevalue(kind_fixture)
    with pytest.raises(ValidationError, match="cannot hold the scope"):
        token_issue(member=member, scopes=scopes)


def test_it_refuses_unknown_scopes(lab_a: Member) -> None:
    with pytest.raises(ValidationError, match="Unknown scope"):
        token_issue(member=lab_a, scopes=["read", "root"])


def test_it_refuses_a_token_without_scopes_and_leaves_no_trace(lab_a: Member) -> None:
    with pytest.raises(ValidationError, match="at least one scope"):
        token_issue(member=lab_a, scopes=[])
    assert not ApiToken.objects.filter(member=lab_a).exists()
    assert not AuditEvent.objects.filter(action="token-issue").exists()


def test_it_audits_the_issue_without_the_secret(lab_a: Member, operator: User) -> None:
    token, raw = token_issue(
        member=lab_a,
        scopes=["read"],
        name="ci",
        expires_in=timedelta(days=1),
        actor_member=lab_a,
        actor_user=operator,
    )
    event = AuditEvent.objects.get(action="token-issue")
    assert event.target == f"token {token.prefix}"
    assert (event.actor_member, event.actor_user) == (lab_a, operator)
    assert token.expires_at is not None
    assert event.after == {
        "member": "lab-a",
        "name": "ci",
        "scopes": ["read"],
        "expires_at": token.expires_at.isoformat(),
    }
    assert event.before is None
    recorded = str(AuditEvent.objects.filter(pk=event.pk).values().get())
    assert raw not in recorded and token.token_hash not in recorded


# --- token_revoke ----------------------------------------------------------------------------


def test_it_revokes_a_token_and_audits_it(lab_a: Member, operator: User) -> None:
    token, _ = token_issue(member=lab_a, scopes=["read"])
    revoked = token_revoke(token=token, actor_user=operator)
    row = ApiToken.objects.get(pk=token.pk)
    assert row.revoked_at is not None and revoked.revoked_at == row.revoked_at
    assert not row.is_usable
    event = AuditEvent.objects.get(action="token-revoke")
    assert (event.target, event.actor_user, event.actor_member) == (
        f"token {token.prefix}",
        operator,
        None,
    )
    assert event.before == {"member": "lab-a", "revoked_at": None}
    assert event.after == {"revoked_at": row.revoked_at.isoformat()}


def test_it_refuses_to_revoke_a_token_twice(lab_a: Member) -> None:
    token, _ = token_issue(member=lab_a, scopes=["read"])
    token_revoke(token=token)
    first = ApiToken.objects.get(pk=token.pk).revoked_at
    with pytest.raises(ValidationError, match="revoked already"):
        token_revoke(token=token)
    assert ApiToken.objects.get(pk=token.pk).revoked_at == first
    assert AuditEvent.objects.filter(action="token-revoke").count() == 1


def test_it_refuses_a_stale_copy_of_a_token_revoked_meanwhile(lab_a: Member) -> None:
    token, _ = token_issue(member=lab_a, scopes=["read"])
    stale = ApiToken.objects.get(pk=token.pk)
    token_revoke(token=token)
    assert stale.revoked_at is None
    with pytest.raises(ValidationError, match="revoked already"):
        token_revoke(token=stale)
    # The refusal leaves the caller's copy showing the revocation that won.
    assert stale.revoked_at == ApiToken.objects.get(pk=token.pk).revoked_at
    assert AuditEvent.objects.filter(action="token-revoke").count() == 1


# --- audit_record ----------------------------------------------------------------------------


def test_it_records_who_did_what_to_which_target(lab_a: Member, operator: User) -> None:
    event = audit_record(
        action="grant-change",
        target="collection 7",
        actor_member=lab_a,
        actor_user=operator,
        before={"readers": ["lab-a"]},
        after={"readers": ["lab-a", "lab-b"]},
        note="asked by lab-b",
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.action, stored.target, stored.note) == (
        "grant-change",
        "collection 7",
        "asked by lab-b",
    )
    assert (stored.actor_member, stored.actor_user) == (lab_a, operator)
    assert (stored.before, stored.after) == (
        {"readers": ["lab-a"]},
        {"readers": ["lab-a", "lab-b"]},
    )


def test_it_records_any_mapping_as_a_json_object(db: None) -> None:
    event = audit_record(
        action="setting-change",
        target="feed",
        before=MappingProxyType({"limit": 1}),
        after=MappingProxyType({"limit": 2}),
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.before, stored.after) == ({"limit": 1}, {"limit": 2})


def test_it_tells_an_empty_state_from_no_state(db: None) -> None:
    event = audit_record(action="setting-change", target="feed", before={}, after=None)
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.before == {} and stored.after is None
    assert stored.actor_member is None and stored.actor_user is None and stored.note == ""


# --- custodial_signing_set -------------------------------------------------------------------


def test_it_keeps_custodial_signing_until_the_lab_has_a_key_of_its_own(lab_a: Member) -> None:
    # lab_a holds its custodial key, active: that is not a key of its own.
    assert SigningKey.objects.filter(member=lab_a, custodial=True, state=KeyState.ACTIVE)
    with pytest.raises(ValidationError, match="no active registered key"):
        custodial_signing_set(member=lab_a, enabled=False)
    lab_a.refresh_from_db()
    assert lab_a.custodial_signing
    assert not AuditEvent.objects.filter(action="custodial-signing-set").exists()


def test_it_does_not_count_a_revoked_registered_key(lab_a: Member) -> None:
    signing_key_revoke(key=registered_key(lab_a), reason="lost")
    with pytest.raises(ValidationError, match="no active registered key"):
        custodial_signing_set(member=lab_a, enabled=False)


def test_it_switches_custodial_signing_off_and_on_and_audits_each(
    lab_a: Member, operator: User
) -> None:
    registered_key(lab_a)
    off = custodial_signing_set(member=lab_a, enabled=False, actor_user=operator)
    assert not off.custodial_signing
    assert not Member.objects.get(pk=lab_a.pk).custodial_signing
    on = custodial_signing_set(member=lab_a, enabled=True, actor_member=lab_a)
    assert Member.objects.get(pk=lab_a.pk).custodial_signing and on.custodial_signing
    events = AuditEvent.objects.filter(action="custodial-signing-set").order_by("pk")
    assert [(e.target, e.before, e.after, e.actor_user, e.actor_member) for e in events] == [
        ("lab-a", {"custodial_signing": True}, {"custodial_signing": False}, operator, None),
        ("lab-a", {"custodial_signing": False}, {"custodial_signing": True}, None, lab_a),
    ]


def test_it_refuses_to_switch_the_forum_off(forum: Member) -> None:
    registered_key(forum)
    with pytest.raises(ValidationError, match="The Forum signs with its custodial key"):
        custodial_signing_set(member=forum, enabled=False)
    assert Member.objects.get(pk=forum.pk).custodial_signing


def test_it_changes_and_audits_nothing_when_the_stored_state_already_matches(
    lab_a: Member,
) -> None:
    registered_key(lab_a)
    stale = Member.objects.get(pk=lab_a.pk)
    custodial_signing_set(member=lab_a, enabled=False)
    # The stale copy still says on; the service reads the row it locks, which says off.
    assert stale.custodial_signing
    result = custodial_signing_set(member=stale, enabled=False)
    assert not result.custodial_signing
    assert AuditEvent.objects.filter(action="custodial-signing-set").count() == 1


# --- amber_strict_recipients_set -------------------------------------------------------------


def test_it_sets_the_amber_strict_recipients_and_audits_them_by_name(
    lab_a: Member, lab_b: Member, partner: Member, operator: User
) -> None:
    amber_strict_recipients_set(member=lab_a, recipients=[partner, lab_b], actor_user=operator)
    assert set(lab_a.amber_strict_recipients.all()) == {lab_b, partner}
    event = AuditEvent.objects.get(action="amber-strict-recipients-set")
    assert (event.target, event.actor_user) == ("lab-a", operator)
    assert event.before == {"recipients": []}
    assert event.after == {"recipients": ["lab-b", "partner"]}


def test_it_replaces_the_recipients_rather_than_adding_to_them(
    lab_a: Member, lab_b: Member, partner: Member
) -> None:
    amber_strict_recipients_set(member=lab_a, recipients=[lab_b])
    amber_strict_recipients_set(member=lab_a, recipients=[partner])
    assert list(lab_a.amber_strict_recipients.all()) == [partner]
    # Recipients are one-way: lab_b named by lab_a does not name lab_a back.
    assert not lab_b.amber_strict_recipients.exists()
    last = AuditEvent.objects.filter(action="amber-strict-recipients-set").first()
    assert last is not None
    assert (last.before, last.after) == ({"recipients": ["lab-b"]}, {"recipients": ["partner"]})


def test_it_clears_the_recipients(lab_a: Member, lab_b: Member) -> None:
    amber_strict_recipients_set(member=lab_a, recipients=[lab_b])
    amber_strict_recipients_set(member=lab_a, recipients=[])
    assert not lab_a.amber_strict_recipients.exists()
    assert AuditEvent.objects.filter(action="amber-strict-recipients-set").count() == 2


def test_it_audits_nothing_when_the_recipients_are_the_same_in_another_order(
    lab_a: Member, lab_b: Member, partner: Member
) -> None:
    amber_strict_recipients_set(member=lab_a, recipients=[lab_b, partner])
    amber_strict_recipients_set(member=lab_a, recipients=[partner, lab_b])
    assert AuditEvent.objects.filter(action="amber-strict-recipients-set").count() == 1
