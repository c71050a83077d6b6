from __future__ import annotations

from django.contrib import admin

from members.models import ApiToken, Member, Membership


class MembershipInline(admin.TabularInline[Membership, Member]):
    model = Membership
    extra = 0


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin[Member]):
    list_display = ["name", "display_name", "kind", "identity_id", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "display_name", "identity_id"]
    readonly_fields = ["identity_id", "created_at"]
    filter_horizontal = ["amber_strict_recipients"]
    inlines = [MembershipInline]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
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
    fields = [
        "member",
        "name",
        "prefix",
        "scopes",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    readonly_fields = ["member", "prefix", "scopes", "created_at", "last_used_at"]

    def has_add_permission(self, request: object) -> bool:
        # Tokens are issued with issue_token so the raw value is shown once, to a terminal.
        return False
