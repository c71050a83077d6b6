"""exchange/admin/members.py: the admin changes tokens, members and keys only through the
services, over HTTP, signed in through /admin/login/ as a Forum operator, and never shows a
private key."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.test import Client

from members.models import ApiToken, AuditEvent, KeyState, Member, Membership, SigningKey
from members.services import token_issue, token_revoke
from signatures.models import StixObject
from signatures.selectors import collection_default
from tests.members.conftest import secret_forms, seed_of

# --- tokens ----------------------------------------------------------------------------------


def test_it_cannot_un_revoke_a_token(admin_browser: Client, lab_a: Member) -> None:
    token, _ = token_issue(member=lab_a, scopes=["read"])
    token_revoke(token=token)
    revoked_at = ApiToken.objects.get(pk=token.pk).revoked_at
    url = f"/admin/members/apitoken/{token.pk}/change/"
    page = admin_browser.get(url).content.decode()
    assert 'name="revoked_at' not in page and 'name="expires_at' not in page
    admin_browser.post(url, {"revoked_at_0": "", "revoked_at_1": "", "name": "again"})
    token.refresh_from_db()
    assert token.revoked_at == revoked_at and token.name == ""
    assert admin_browser.get(f"/admin/members/apitoken/{token.pk}/delete/").status_code == 403


def test_it_revokes_tokens_with_an_action_that_audits(
    admin_browser: Client, operator: User, forum: Member, lab_a: Member
) -> None:
    token, _ = token_issue(member=lab_a, scopes=["read"])
    response = admin_browser.post(
        "/admin/members/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    event = AuditEvent.objects.get(action="token-revoke")
    assert (event.target, event.actor_user, event.actor_member) == (
        f"token {token.prefix}",
        operator,
        forum,
    )
    # Revoking again changes nothing and records nothing.
    admin_browser.post(
        "/admin/members/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert AuditEvent.objects.filter(action="token-revoke").count() == 1


# --- members ---------------------------------------------------------------------------------


def test_it_creates_a_member_through_onboarding(admin_browser: Client, operator: User) -> None:
    response = admin_browser.post(
        "/admin/members/member/add/",
        {
            "name": "lab-z",
            "display_name": "Lab Z",
            "kind": "lab",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "_save": "Save",
        },
    )

    assert response.status_code == 302, response.content
    member = Member.objects.get(name="lab-z")
    assert StixObject.objects.filter(stix_id=member.identity_id).exists()  # identity published
    assert collection_default().writers.filter(pk=member.pk).exists()  # feed granted
    event = AuditEvent.objects.get(action="member-create", target="lab-z")
    assert event.actor_user == operator and event.after == {
        "kind": "lab",
        "identity_id": member.identity_id,
    }


def test_it_never_changes_a_members_kind_and_audits_its_amber_strict_set(
    admin_browser: Client, lab_a: Member, lab_b: Member
) -> None:
    response = admin_browser.post(
        f"/admin/members/member/{lab_a.pk}/change/",
        {
            "name": "lab-a",
            "display_name": "Lab A",
            "kind": "forum",
            "amber_strict_recipients": [lab_b.pk],
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "_save": "Save",
        },
    )

    assert response.status_code == 302, response.content
    lab_a.refresh_from_db()
    assert lab_a.kind == "lab" and lab_a.display_name == "Lab A"
    assert list(lab_a.amber_strict_recipients.all()) == [lab_b]
    event = AuditEvent.objects.get(action="amber-strict-recipients-set", target="lab-a")
    assert (event.before, event.after) == ({"recipients": []}, {"recipients": ["lab-b"]})
    assert admin_browser.get(f"/admin/members/member/{lab_a.pk}/delete/").status_code == 403


def test_it_shows_no_private_key_on_any_admin_page(lab_a: Member) -> None:
    admin = User.objects.create_superuser("root", "root@example.org", "pw-not-used")
    # Only the Forum's staff reach the admin (exchange.admin_site).
    Membership.objects.create(user=admin, member=Member.objects.get(kind="forum"))
    browser = Client()
    browser.force_login(admin)
    key = SigningKey.objects.get(member=lab_a)
    sealed = bytes(key.encrypted_private_key or b"")
    event = AuditEvent.objects.filter(target=key.kid).first()
    assert event is not None
    pages = [
        "/admin/members/signingkey/",
        f"/admin/members/signingkey/{key.pk}/change/",
        f"/admin/members/member/{lab_a.pk}/change/",
        "/admin/members/auditevent/",
        f"/admin/members/auditevent/{event.pk}/change/",
    ]
    for page in pages:
        response = browser.get(page)
        assert response.status_code == 200, page
        text = response.content.decode()
        assert key.kid in text or lab_a.name in text
        for form in [*secret_forms(seed_of(key)), *secret_forms(sealed)]:
            assert form not in text, page
        assert "encrypted_private_key" not in text
    assert browser.get(f"/admin/members/auditevent/{event.pk}/delete/").status_code == 403
    assert browser.get("/admin/members/signingkey/add/").status_code == 403


def test_it_lets_an_admin_rotate_a_key_with_the_action(lab_a: Member) -> None:
    admin = User.objects.create_superuser("root", "root@example.org", "pw-not-used")
    # Only the Forum's staff reach the admin (exchange.admin_site).
    Membership.objects.create(user=admin, member=Member.objects.get(kind="forum"))
    browser = Client()
    browser.force_login(admin)
    old = SigningKey.objects.get(member=lab_a)
    response = browser.post(
        "/admin/members/member/",
        {"action": "rotate_key", "_selected_action": [lab_a.pk]},
    )
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.state == KeyState.RETIRED
    event = AuditEvent.objects.get(action="signing-key-create", actor_user=admin)
    assert event.note == "rotation"
