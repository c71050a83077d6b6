from __future__ import annotations

from django.urls import path

from signatures.api.views import ObjectDetailView, ObjectListView

urlpatterns = [
    path("objects/", ObjectListView.as_view(), name="object-list"),
    path("objects/<segment:object_id>/", ObjectDetailView.as_view(), name="object-detail"),
]
