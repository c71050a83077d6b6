"""Members, tokens, keys and the audit log in the admin.

Every change to a token or a key goes through ``members.services`` (the checks and the audit
record the API, the console and the commands use): fields a service owns are read-only
here, and the changes are admin actions that call the service.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from exchange.admin_mixins import ReadOnlyAdminMixin, admin_actors
from members.models import ApiToken, AuditEvent, KeyState, Member, Membership, SigningKey
from members.services import amber_strict_recipients_set, custodial_signing_set, token_revoke
from signatures.services import member_create, signing_key_revoke, signing_key_rotate


class MembershipInline(admin.TabularInline[Membership, Member]):
    model = Membership
    extra = 0


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin[Member]):
    list_display = [
        "name",
        "display_name",
        "kind",
        "identity_id",
        "custodial_signing",
        "created_at",
    ]
    list_filter = ["kind", "custodial_signing"]
    search_fields = ["name", "display_name", "identity_id"]
    # Signing changes go through the services (checks, audit log, new identity version).
    readonly_fields = ["identity_id", "custodial_signing", "created_at"]
    filter_horizontal = ["amber_strict_recipients"]
    inlines = [MembershipInline]
    actions = ["rotate_key", "custodial_on", "custodial_off"]

    def get_readonly_fields(self, request: HttpRequest, obj: Member | None = None) -> list[str]:
        # The kind is the member's privileges and the name its account: both are set once,
        # by member_create, which also grants the feed and publishes the identity.
        fixed = ["name", "kind"] if obj is not None else []
        return [*fixed, *self.readonly_fields]

    def has_delete_permission(self, request: HttpRequest, obj: Member | None = None) -> bool:
        return False  # its objects, keys and audit trail name it for good

    def save_model(self, request: HttpRequest, obj: Member, form: Any, change: bool) -> None:
        if change:
            obj.save(update_fields=["display_name", "rate_limit_per_minute", "concurrency_limit"])
            return
        created = member_create(
            name=obj.name, kind=obj.kind, display_name=obj.display_name, **admin_actors(request)
        )
        # The admin's messages and log entry name the member the service made.
        obj.pk, obj.identity_id, obj.created_at = (
            created.pk,
            created.identity_id,
            created.created_at,
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        member = form.instance
        amber_strict_recipients_set(
            member=member,
            recipients=list(form.cleaned_data["amber_strict_recipients"]),
            **admin_actors(request),
        )
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    @admin.action(description="Rotate the custodial signing key")
    def rotate_key(self, request: HttpRequest, queryset: QuerySet[Member]) -> None:
        for member in queryset:
            try:
                key = signing_key_rotate(member=member, **admin_actors(request))
            except ValidationError as exc:
                self.message_user(request, f"{member}: {' '.join(exc.messages)}", messages.ERROR)
            else:
                self.message_user(request, f"{member}: new custodial key {key.kid}")

    @admin.action(description="Switch custodial signing on")
    def custodial_on(self, request: HttpRequest, queryset: QuerySet[Member]) -> None:
        self._custodial_set(request, queryset, enabled=True)

    @admin.action(description="Switch custodial signing off (needs a registered key)")
    def custodial_off(self, request: HttpRequest, queryset: QuerySet[Member]) -> None:
        self._custodial_set(request, queryset, enabled=False)

    def _custodial_set(
        self, request: HttpRequest, queryset: QuerySet[Member], *, enabled: bool
    ) -> None:
        for member in queryset:
            try:
                custodial_signing_set(member=member, enabled=enabled, **admin_actors(request))
            except ValidationError as exc:
                self.message_user(request, f"{member}: {' '.join(exc.messages)}", messages.ERROR)


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin[SigningKey]):
    """Read-only view of signing keys; no page ever shows a private key, even sealed."""

    list_display = [
        "kid",
        "member",
        "custodial",
        "state",
        "valid_from",
        "valid_until",
        "revoked_at",
    ]
    list_filter = ["state", "custodial", "member"]
    search_fields = ["kid", "member__name"]
    fields = readonly_fields = (
        "kid", "member", "custodial", "state", "public_jwk", "valid_from", "valid_until",
        "revoked_at", "revocation_reason", "created_at",
    )  # fmt: skip
    actions = ["revoke_compromised", "revoke_superseded"]

    @admin.action(description="Revoke now: key compromise")
    def revoke_compromised(self, request: HttpRequest, queryset: QuerySet[SigningKey]) -> None:
        self._revoke(request, queryset, "key compromise")

    @admin.action(description="Revoke now: superseded")
    def revoke_superseded(self, request: HttpRequest, queryset: QuerySet[SigningKey]) -> None:
        self._revoke(request, queryset, "superseded")

    def _revoke(self, request: HttpRequest, queryset: QuerySet[SigningKey], reason: str) -> None:
        for key in queryset.exclude(state=KeyState.REVOKED):
            signing_key_revoke(key=key, reason=reason, **admin_actors(request))
            self.message_user(request, f"{key.kid} revoked ({reason})")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Custodial keys come from rotate_key, registered ones from register_key or the API.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Deleting a key would turn every signature it made into "unknown key".
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[AuditEvent]):
    """The audit log, append-only: nothing here can be added, changed or deleted."""

    list_display = ["created_at", "action", "target", "actor_member", "actor_user"]
    list_filter = ["action"]
    search_fields = ["target", "note"]
    fields = readonly_fields = (
        "created_at", "action", "target", "actor_member", "actor_user", "before", "after", "note",
    )  # fmt: skip


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    """Tokens, read-only: issued with issue_token or the console (the raw value is shown
    once), revoked with the action below. A revocation is final; nothing here can clear
    revoked_at or extend expires_at."""

    # The hash is never shown: it is useless to a person and an offline-guessing aid.
    list_display = [
        "prefix",
        "member",
        "name",
        "scopes",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    list_filter = ["member"]
    fields = readonly_fields = (
        "member", "name", "prefix", "scopes", "created_at", "expires_at", "revoked_at",
        "last_used_at",
    )  # fmt: skip
    actions = ["revoke"]

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset.select_related("member"):
            try:
                token_revoke(token=token, **admin_actors(request))
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.WARNING)
            else:
                self.message_user(request, f"Token {token.prefix}… of {token.member} revoked.")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Revoke instead: a deleted token leaves the audit log naming a token nobody can see.
        return False
