"""exchange/console/forms.py: the filters the forms hand to the selectors, and what they refuse."""

from __future__ import annotations

from datetime import date

from exchange.console.forms import (
    AuditFilterForm,
    CampaignLinkForm,
    GrantForm,
    QueueFilterForm,
    TlpRestrictForm,
)
from exchange.console.selectors import AuditFilters, QueueFilters
from members.models import AuditEvent, Member


def test_it_reads_the_queue_filters(lab_a: Member) -> None:
    form = QueueFilterForm(
        {"lab": "lab-a", "kind": "network", "tlp": "amber", "min_confidence": "80"}
    )
    assert form.filters() == QueueFilters(
        lab="lab-a", kind="network", tlp="amber", min_confidence=80
    )


def test_it_reads_unmarked_as_the_empty_tlp_and_no_tlp_as_any(lab_a: Member) -> None:
    assert QueueFilterForm({"tlp": "unmarked"}).filters().tlp == ""
    assert QueueFilterForm({"tlp": ""}).filters().tlp is None
    assert QueueFilterForm({}).filters() == QueueFilters()


def test_it_offers_labs_and_the_forum_but_not_partners(lab_a: Member, partner: Member) -> None:
    choices = [value for value, _ in QueueFilterForm().fields["lab"].choices]  # type: ignore[attr-defined]
    assert choices == ["", "forum", "lab-a"]
    # A filter that is not offered selects nothing unexpected: the whole queue.
    assert QueueFilterForm({"lab": "partner", "kind": "network"}).filters() == QueueFilters()
    assert QueueFilterForm({"min_confidence": "101"}).filters() == QueueFilters()


def test_it_reads_the_audit_filters_among_recorded_actions(lab_a: Member) -> None:
    AuditEvent.objects.create(action="token-issue", target="lab-a/ci", actor_member=lab_a)
    form = AuditFilterForm({"action": "token-issue", "actor": "lab-a", "since": "2026-11-01"})
    assert form.filters() == AuditFilters(
        action="token-issue", actor="lab-a", since=date(2026, 11, 1)
    )
    assert AuditFilterForm({"action": "never-recorded"}).filters() == AuditFilters()


def test_it_needs_a_campaign_or_a_new_name(forum: Member) -> None:
    empty = CampaignLinkForm({"campaign": "", "new_campaign": "   "})
    assert not empty.is_valid()
    assert empty.non_field_errors() == ["Choose a campaign or name a new one."]
    assert CampaignLinkForm({"new_campaign": "Operation Echo"}).is_valid()
    # Only a listed campaign (one the Forum may see) can be picked.
    assert not CampaignLinkForm({"campaign": "campaign--0000"}).is_valid()


def test_it_reads_a_grant_as_a_boolean(lab_a: Member) -> None:
    granted = GrantForm({"member": "lab-a", "role": "reader", "granted": "1"})
    assert granted.is_valid(), granted.errors
    assert (granted.cleaned_data["member"], granted.cleaned_data["granted"]) == (lab_a, True)
    withdrawn = GrantForm({"member": "lab-a", "role": "reader", "granted": "0"})
    assert withdrawn.is_valid() and withdrawn.cleaned_data["granted"] is False
    assert not GrantForm({"member": "nobody", "role": "reader", "granted": "1"}).is_valid()


def test_it_offers_only_more_restrictive_tlp_levels() -> None:
    levels = [value for value, _ in TlpRestrictForm().fields["level"].choices]  # type: ignore[attr-defined]
    assert "clear" not in levels and "" not in levels
    assert not TlpRestrictForm({"level": "clear", "reason": "no"}).is_valid()
