"""The REST API's URLs, under /api/v1/ (docs/api.md); subscriptions have their own."""

from __future__ import annotations

from django.urls import path

from exchange.api.members import (
    ExchangeJwksView,
    MemberJwksView,
    MemberKeyRegisterView,
    MemberSelfView,
)
from exchange.api.objects import ObjectCorroborationView, ObjectDetailView, ObjectListView

urlpatterns = [
    path("objects/", ObjectListView.as_view(), name="object-list"),
    path("objects/<segment:object_id>/", ObjectDetailView.as_view(), name="object-detail"),
    path(
        "objects/<segment:object_id>/corroboration/",
        ObjectCorroborationView.as_view(),
        name="object-corroboration",
    ),
    path("jwks.json", ExchangeJwksView.as_view(), name="exchange-jwks"),
    path("members/me/", MemberSelfView.as_view(), name="member-self"),
    path("members/me/keys/", MemberKeyRegisterView.as_view(), name="member-key-register"),
    path("members/<segment:identity_id>/jwks.json", MemberJwksView.as_view(), name="member-jwks"),
]
