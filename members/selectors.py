"""Reads about members: their published keys, one member's or the whole exchange's."""

from __future__ import annotations

from members.models import Member, SigningKey
from signatures.sdk import jss


def member_jwks(member: Member) -> dict[str, list[jss.PublicJWK]]:
    """The member's published JWK Set (RFC 7517 section 5): every key it ever had, in order.

    Retired and revoked keys stay, with their life members, so that old signatures still
    verify and later ones are refused (docs/signing.md section 5).
    """
    keys = SigningKey.objects.filter(member=member).select_related("member")
    return {"keys": [key.published_jwk() for key in keys]}


def exchange_jwks() -> dict[str, list[jss.PublicJWK]]:
    """Every member's published keys in one JWK Set: what a verifier needs for anything the
    exchange serves, from any publisher (docs/signing.md section 5).

    Active, retired and revoked keys alike, each with its ``signee`` and its life members,
    ordered by member and then as each member's own set.
    """
    keys = SigningKey.objects.select_related("member").order_by("member__name", "pk")
    return {"keys": [key.published_jwk() for key in keys]}
