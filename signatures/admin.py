from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html

from exchange.admin_mixins import ReadOnlyAdminMixin
from signatures.models import Collection, StixObject


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin[Collection]):
    list_display = ["title", "api_root", "id", "is_default", "partners_read_amber_strict"]
    readonly_fields = ["id", "last_date_added", "created_at"]
    filter_horizontal = ["readers", "writers"]


@admin.register(StixObject)
class StixObjectAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[StixObject]):
    """Read-only: stored versions are immutable; a change is a new version from its creator."""

    list_display = ["stix_id", "type", "version", "created_by_ref", "tlp", "revoked", "received_at"]
    list_filter = ["type", "tlp", "revoked"]
    search_fields = ["stix_id", "created_by_ref"]
    fields = readonly_fields = (
        "stix_id", "type", "spec_version", "version", "created_by_ref", "tlp", "revoked",
        "publisher", "received_at", "pretty_json",
    )  # fmt: skip

    @admin.display(description="Object as served")
    def pretty_json(self, obj: StixObject) -> str:
        return format_html("<pre>{}</pre>", json.dumps(json.loads(obj.raw), indent=2))
