"""Endpoints of one TAXII 2.1 API root (sections 4.2 to 5.8), paths as the spec writes them."""

from __future__ import annotations

from django.urls import path, re_path

from exchange.taxii.api_roots import ApiRootView
from exchange.taxii.base import NotFoundView
from exchange.taxii.collections import CollectionsView, CollectionView
from exchange.taxii.manifest import ManifestView
from exchange.taxii.objects import ObjectsView, ObjectView
from exchange.taxii.status import StatusView
from exchange.taxii.versions import ObjectVersionsView

_COLLECTION = "collections/<str:collection_id>/"
_OBJECT = _COLLECTION + "objects/<segment:object_id>/"

urlpatterns = [
    path("", ApiRootView.as_view(), name="taxii-api-root"),
    # taxii2-client builds the status URL without the trailing slash; answer it directly
    # rather than through a redirect.
    re_path(r"^status/(?P<status_id>[^/]+)/?$", StatusView.as_view(), name="taxii-status"),
    path("collections/", CollectionsView.as_view(), name="taxii-collections"),
    path(_COLLECTION, CollectionView.as_view(), name="taxii-collection"),
    path(_COLLECTION + "manifest/", ManifestView.as_view(), name="taxii-manifest"),
    path(_COLLECTION + "objects/", ObjectsView.as_view(), name="taxii-objects"),
    path(_OBJECT, ObjectView.as_view(), name="taxii-object"),
    path(_OBJECT + "versions/", ObjectVersionsView.as_view(), name="taxii-object-versions"),
    re_path(r"^.*$", NotFoundView.as_view()),
]
