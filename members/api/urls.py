from __future__ import annotations

from django.urls import path

from members.api.views import MemberJwksView, MemberKeyRegisterView

urlpatterns = [
    path("members/me/keys/", MemberKeyRegisterView.as_view(), name="member-key-register"),
    path("members/<segment:identity_id>/jwks.json", MemberJwksView.as_view(), name="member-jwks"),
]
