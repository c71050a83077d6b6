from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.html import format_html

from exchange.admin_mixins import ReadOnlyAdminMixin, admin_actors
from signatures.models import Collection, StixObject
from signatures.services.collections import (
    COLLECTION_FIELDS,
    api_root_check,
    collection_create,
    collection_grants_set,
    collection_update,
    writers_check,
)


class CollectionForm(forms.ModelForm[Collection]):
    class Meta:
        model = Collection
        fields = [*COLLECTION_FIELDS, "readers", "writers"]

    def clean(self) -> dict[str, Any]:
        """The services' checks, so that the form refuses what they would refuse."""
        cleaned: dict[str, Any] = super().clean() or {}
        try:
            if "api_root" in cleaned:
                api_root_check(cleaned["api_root"])
            writers_check(list(cleaned.get("writers") or []))
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc
        return cleaned


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin[Collection]):
    """Collections through ``signatures.services.collections``: every grant and setting
    change is checked and audited as in the console and the command line."""

    form = CollectionForm
    list_display = ["title", "api_root", "id", "is_default", "partners_read_amber_strict"]
    readonly_fields = ["id", "is_default", "media_types", "last_date_added", "created_at"]
    filter_horizontal = ["readers", "writers"]

    def save_model(
        self, request: HttpRequest, obj: Collection, form: CollectionForm, change: bool
    ) -> None:
        data = form.cleaned_data
        options = {name: data[name] for name in COLLECTION_FIELDS}
        readers, writers = list(data["readers"]), list(data["writers"])
        if change:
            collection_update(collection=obj, **options, **admin_actors(request))
            collection_grants_set(
                collection=obj, readers=readers, writers=writers, **admin_actors(request)
            )
            return
        created = collection_create(
            readers=readers, writers=writers, **options, **admin_actors(request)
        )
        # The admin's messages and log entry name the collection the service made.
        obj.pk = created.pk
        obj.created_at = created.created_at

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Nothing left to save: save_model set the grants through the services."""

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Deleting a collection would drop its readers' feed unrecorded; withdraw grants.
        return False


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
