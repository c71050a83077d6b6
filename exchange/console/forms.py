"""Forms of the console: queue and audit filters, and one form per analyst action."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from exchange.console.models import TriageState
from exchange.console.readable import KIND_LABELS
from exchange.console.search import DEFAULT_SORT, SORT_KEYS, STIX_ID
from exchange.console.selectors import AuditFilters, QueueFilters, audit_actions, queue_labs
from exchange.console.services.forum_objects import campaigns_linkable
from exchange.console.services.triage import TLP_RESTRICT_CHOICES
from members.choices import TokenScope
from members.models import Member
from signatures.choices import TlpLevel
from signatures.sdk.constants import DISTILLATION_PHASES
from signatures.services.collections import GRANT_ROLES

_ANY = ("", "Any")
#: The TLP filter's value for unmarked objects (whose column holds "").
_UNMARKED = "unmarked"


class QueueFilterForm(forms.Form):
    """The queue's filters, search and sort: all in the URL, so a filter is a link to share."""

    q = forms.CharField(
        required=False,
        max_length=300,
        label="Search",
        widget=forms.TextInput(
            attrs={"placeholder": "IP or CIDR, hash, fingerprint, id, name, text", "type": "search"}
        ),
    )
    lab = forms.ChoiceField(required=False)
    kind = forms.ChoiceField(required=False, choices=[_ANY, *KIND_LABELS.items()])
    category = forms.ChoiceField(
        required=False,
        label="Object",
        choices=[
            _ANY,
            ("indicator", "Indicators"),
            ("observable", "Observables"),
            ("sighting", "Sightings"),
        ],
    )
    tlp = forms.ChoiceField(
        required=False,
        label="TLP",
        choices=[_ANY, (_UNMARKED, "Unmarked")]
        + [(level.value, level.label) for level in TlpLevel if level.value],
    )
    min_confidence = forms.IntegerField(
        required=False, min_value=0, max_value=100, label="Confidence ≥"
    )
    phase = forms.ChoiceField(
        required=False,
        label="Kill-chain phase",
        choices=[_ANY, *((p, p.replace("-", " ")) for p in DISTILLATION_PHASES)],
    )
    state = forms.ChoiceField(required=False, choices=[_ANY, *TriageState.choices])
    sort = forms.ChoiceField(
        required=False,
        widget=forms.HiddenInput,
        choices=[
            (f"{direction}{name}", f"{key.label} {direction}")
            for name, key in SORT_KEYS.items()
            for direction in ("", "-")
        ],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labs = [(name, name) for name in queue_labs()]
        cast(forms.ChoiceField, self.fields["lab"]).choices = [_ANY, *labs]

    def filters(self) -> QueueFilters:
        if not self.is_valid():
            return QueueFilters()
        data = self.cleaned_data
        tlp = data["tlp"]
        return QueueFilters(
            lab=data["lab"],
            kind=data["kind"],
            category=data["category"],
            tlp=None if not tlp else ("" if tlp == _UNMARKED else tlp),
            min_confidence=data["min_confidence"],
            phase=data["phase"],
            state=data["state"],
            q=data["q"].strip(),
            sort=data["sort"] or DEFAULT_SORT,
        )


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(required=False)
    target = forms.CharField(required=False, max_length=300)
    actor = forms.CharField(required=False, max_length=150, label="User or member")
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        actions = [(action, action) for action in audit_actions()]
        cast(forms.ChoiceField, self.fields["action"]).choices = [_ANY, *actions]

    def filters(self) -> AuditFilters:
        if not self.is_valid():
            return AuditFilters()
        return AuditFilters(**self.cleaned_data)


class NoteOptionalForm(forms.Form):
    """Review, release and members-only: an optional note for the audit log."""

    note = forms.CharField(required=False, max_length=2000, widget=forms.TextInput())


class ReasonForm(forms.Form):
    """Retire and revoke: a reason is required (it is published with a revocation)."""

    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class TlpRestrictForm(forms.Form):
    level = forms.ChoiceField(
        label="New TLP",
        choices=[(level, TlpLevel(level).label) for level in TLP_RESTRICT_CHOICES],
    )
    reason = forms.CharField(max_length=2000, widget=forms.TextInput())


class NoteForm(forms.Form):
    abstract = forms.CharField(required=False, max_length=200)
    content = forms.CharField(max_length=10_000, widget=forms.Textarea(attrs={"rows": 3}))


class CampaignLinkForm(forms.Form):
    campaign = forms.ChoiceField(required=False, label="Existing campaign")
    new_campaign = forms.CharField(required=False, max_length=200, label="or a new campaign")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        campaigns = campaigns_linkable()
        cast(forms.ChoiceField, self.fields["campaign"]).choices = [
            ("", "—" if campaigns else "No campaign yet: name one below"),
            *(
                (c.stix_id, f"{c.data.get('name', c.stix_id)} ({c.publisher.name})")
                for c in campaigns
            ),
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("campaign") and not cleaned.get("new_campaign", "").strip():
            raise forms.ValidationError("Choose a campaign or name a new one.")
        return cleaned


class TokenIssueForm(forms.Form):
    name = forms.CharField(required=False, max_length=100)
    scopes = forms.MultipleChoiceField(
        choices=TokenScope.choices, widget=forms.CheckboxSelectMultiple
    )
    expires_in_days = forms.IntegerField(
        required=False, min_value=1, max_value=3650, label="Expires in (days)"
    )


class KeyRevokeForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.TextInput())


class GrantForm(forms.Form):
    member = forms.ModelChoiceField(queryset=Member.objects.order_by("name"), to_field_name="name")
    role = forms.ChoiceField(choices=[(role, role) for role in GRANT_ROLES])
    granted = forms.TypedChoiceField(
        choices=[("1", "grant"), ("0", "withdraw")], coerce=lambda v: v == "1"
    )


class BulkForm(forms.Form):
    """An action on the queue rows an analyst selected (exchange/console/services)."""

    ACTIONS = (
        ("release", "Release to partners"),
        ("retire", "Retire"),
        ("tlp", "Restrict TLP"),
        ("note", "Add a note"),
    )

    action = forms.ChoiceField(choices=ACTIONS, label="With the selected")
    ids = forms.MultipleChoiceField(
        choices=(), label="Selected objects", error_messages={"required": "Select some rows."}
    )
    level = forms.ChoiceField(
        required=False,
        label="New TLP",
        choices=[(level, TlpLevel(level).label) for level in TLP_RESTRICT_CHOICES],
    )
    reason = forms.CharField(required=False, max_length=2000, label="Reason or note")
    note = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)
    content = forms.CharField(required=False, max_length=10_000, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any STIX id: the services refuse what the Forum cannot see.
        ids = self.data.getlist("ids") if hasattr(self.data, "getlist") else []
        cast(forms.MultipleChoiceField, self.fields["ids"]).choices = [
            (stix_id, stix_id) for stix_id in ids if STIX_ID.fullmatch(stix_id)
        ]

    def action_label(self) -> str:
        return dict(self.ACTIONS)[self.cleaned_data["action"]]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        action, text = cleaned.get("action"), (cleaned.get("reason") or "").strip()
        if action in ("retire", "tlp") and not text:
            self.add_error("reason", "Give a reason: it goes in the audit log.")
        if action == "tlp" and not cleaned.get("level"):
            self.add_error("level", "Choose the new TLP.")
        if action == "note" and not text:
            self.add_error("reason", "Write the note.")
        # The one text box is the release note, the reason, or the note's content.
        cleaned["note"] = text if action == "release" else ""
        cleaned["content"] = text if action == "note" else ""
        return cleaned
