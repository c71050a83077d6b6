"""What several apps' admin classes share."""

from __future__ import annotations

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """An admin that shows rows and never adds, changes or deletes one.

    For records that must stay as written (the audit log, stored object versions): the
    admin lists and displays them only. Put it before ``admin.ModelAdmin`` in the bases.
    """

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
