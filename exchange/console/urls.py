"""The console's pages, under /console/ (docs/console.md)."""

from __future__ import annotations

from django.contrib.auth.views import LogoutView
from django.urls import path, re_path

from exchange.console import views

app_name = "console"

# STIX ids are type--UUID (STIX 2.1 section 2.9); the type part may hold lower-case letters,
# digits and hyphens.
STIX_ID = r"(?P<stix_id>[a-z0-9][a-z0-9-]*--[0-9a-fA-F-]{36})"

urlpatterns = [
    path("login/", views.ConsoleLoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(next_page="console:login"), name="logout"),
    path("", views.queue, name="queue"),
    re_path(rf"^objects/{STIX_ID}/$", views.object_detail, name="object"),
    re_path(rf"^objects/{STIX_ID}/(?P<action>[a-z-]+)/$", views.object_action, name="act"),
    path("bulk/", views.bulk, name="bulk"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("audit/", views.audit, name="audit"),
    re_path(r"^audit/export\.(?P<fmt>csv|json)$", views.audit_export, name="audit-export"),
    path("members/", views.members, name="members"),
    path("members/<slug:name>/tokens/", views.token_issue, name="token-issue"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("members/<slug:name>/keys/rotate/", views.key_rotate, name="key-rotate"),
    path("keys/<int:pk>/revoke/", views.key_revoke, name="key-revoke"),
    path("collections/", views.collections, name="collections"),
    path("collections/<uuid:pk>/grants/", views.collection_grant, name="collection-grant"),
    path("subscriptions/", views.subscriptions, name="subscriptions"),
    path("subscriptions/replay/", views.dead_letters_replay, name="replay"),
]
