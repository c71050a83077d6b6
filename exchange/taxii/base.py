"""What every TAXII 2.1 endpoint shares: media types, errors, authentication, lookups.

Media types and content negotiation come from :mod:`exchange.taxii.media`; every error is
the TAXII error message (section 3.6.1) through the exchange's EXCEPTION_HANDLER;
authentication is the members' token (HTTP Basic ``account:token`` or Bearer), and a
request without credentials is answered 401 with ``WWW-Authenticate``. GET needs the
``read`` scope, POST and DELETE ``publish``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, Final, cast

from django.conf import settings
from django.db.models import F, QuerySet
from django.http import QueryDict
from django_stubs_ext import WithAnnotations
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.views import APIView

from exchange.api.pagination import Page
from exchange.api.schema import JsonObjectSchema
from exchange.taxii.filters import EntryFilter
from exchange.taxii.media import TaxiiContentNegotiation, TaxiiParser, TaxiiRenderer
from exchange.taxii.pagination import ENTRY_KEYSET, entries_page
from members.models import Member
from members.permissions import ReadOrPublishByMethod
from members.statements import Statement
from signatures.models import Collection, CollectionEntry
from signatures.selectors import CollectionPermissions, collections_visible_to, entries_visible_to


def _visible_collection(
    kind: str, *, member_pk: int, identity_id: str, api_root: str, pk: uuid.UUID
) -> QuerySet[WithAnnotations[Collection, CollectionPermissions]]:
    member = Member(pk=member_pk, kind=kind, identity_id=identity_id)
    return collections_visible_to(member).filter(api_root=api_root, pk=pk)[:1]


#: The collection a request names, with the caller's can_read / can_write (one query).
VISIBLE_COLLECTION: Final = Statement(Collection, _visible_collection)


def _object_entries(
    kind: str,
    supported: tuple[str, ...],
    field: str,
    *,
    member_pk: int,
    identity_id: str,
    collection_pk: uuid.UUID,
    object_id: str,
) -> QuerySet[CollectionEntry]:
    """The first two entries of one object that a GET without parameters serves, with
    ``field`` as ``served``: the same selector and filter as the ORM path."""
    member = Member(pk=member_pk, kind=kind, identity_id=identity_id)
    entries = CollectionEntry.objects.filter(collection_id=collection_pk, stix_id=object_id)
    visible = entries_visible_to(member, entries, allowed_set_listed=False)
    selected = EntryFilter.from_query(QueryDict(), supported=supported).apply(visible)
    return (
        selected.annotate(served=F(field)).only("pk", "date_added").order_by(*ENTRY_KEYSET.names)
    )[:2]


#: An object's entries as a GET without parameters selects them (sections 5.6 and 5.8).
OBJECT_ENTRIES: Final = Statement(CollectionEntry, _object_entries)


def object_not_found(object_id: str) -> exceptions.NotFound:
    return exceptions.NotFound(f"No object {object_id} in this collection is visible to you.")


class TaxiiView(APIView):
    schema = JsonObjectSchema()
    renderer_classes = [TaxiiRenderer]
    parser_classes = [TaxiiParser]
    content_negotiation_class = TaxiiContentNegotiation
    permission_classes = [ReadOrPublishByMethod]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # After authentication, so that an anonymous client learns nothing, not even
        # which API roots exist.
        api_root = kwargs.get("api_root")
        if api_root is not None and api_root not in settings.TAXII_API_ROOTS:
            raise exceptions.NotFound(f"No API root {api_root!r} on this server.")

    @staticmethod
    def member(request: Request) -> Member:
        member: Member = request.user  # type: ignore[assignment]
        return member

    def collection(
        self, request: Request, api_root: str, collection_id: str
    ) -> WithAnnotations[Collection, CollectionPermissions]:
        """The collection, if the caller may read or write it; 404 otherwise.

        One query: it carries the caller's ``can_read`` / ``can_write`` as well.
        """
        try:
            pk = uuid.UUID(collection_id)
        except ValueError as exc:
            raise exceptions.NotFound(f"No collection {collection_id}.") from exc
        member = self.member(request)
        found = VISIBLE_COLLECTION.run(
            (member.kind,),
            member_pk=member.pk,
            identity_id=member.identity_id,
            api_root=api_root,
            pk=pk,
        )
        if not found:
            raise exceptions.NotFound(f"No collection {collection_id} is visible to you.")
        collection = cast("WithAnnotations[Collection, CollectionPermissions]", found[0])
        # Raw rows keep the database's booleans (0/1 on SQLite); the resource says true/false.
        collection.can_read = bool(collection.can_read)
        collection.can_write = bool(collection.can_write)
        return collection

    def collection_to_read(self, request: Request, api_root: str, collection_id: str) -> Collection:
        collection = self.collection(request, api_root, collection_id)
        if not collection.can_read:
            raise exceptions.PermissionDenied(f"You may not read the collection {collection.id}.")
        return collection

    def collection_to_write(
        self, request: Request, api_root: str, collection_id: str
    ) -> Collection:
        collection = self.collection(request, api_root, collection_id)
        if not collection.can_write:
            raise exceptions.PermissionDenied(
                f"You may not write to the collection {collection.id}."
            )
        return collection

    def entries(self, request: Request, collection: Collection) -> Any:
        """The collection's entries the caller may be served (docs/sharing-policy.md)."""
        return entries_visible_to(
            self.member(request), CollectionEntry.objects.filter(collection=collection)
        )

    def object_page(
        self,
        request: Request,
        api_root: str,
        collection_id: str,
        object_id: str,
        *,
        supported: Iterable[str],
        field: Any,
    ) -> Page:
        """The page of one object's entries that the URL filters select (sections 5.6, 5.8).

        404 when the caller may see no version of the object at all; an existing object
        whose versions the filters all exclude is an empty page, not an error.
        """
        collection = self.collection_to_read(request, api_root, collection_id)
        if not request.query_params and isinstance(field, str):
            # The usual request, compiled once: one entry is a whole page. Anything else
            # (none, or more than one) takes the ORM path below, which says which it is.
            member = self.member(request)
            found = OBJECT_ENTRIES.run(
                (member.kind, tuple(sorted(supported)), field),
                member_pk=member.pk,
                identity_id=member.identity_id,
                collection_pk=collection.pk,
                object_id=object_id,
            )
            if len(found) == 1:
                entry = found[0]
                served = entry.served  # type: ignore[attr-defined]  # the builder's annotation
                return Page([(entry.date_added, entry.pk, served)], False, None)
        visible = self.entries(request, collection).filter(stix_id=object_id)
        entries = EntryFilter.from_query(request.query_params, supported=supported).apply(visible)
        page = entries_page(entries, request.query_params, field)
        if not page.rows and not visible.exists():
            raise object_not_found(object_id)
        return page


@extend_schema(exclude=True)  # a catch-all for wrong paths, not an operation
class NotFoundView(TaxiiView):
    """Any other path under TAXII answers 404 as a TAXII error, not Django's HTML page."""

    permission_classes = []

    def get(self, request: Request, *args: Any, **kwargs: Any) -> None:
        raise exceptions.NotFound("No TAXII endpoint at this path.")

    post = delete = get
