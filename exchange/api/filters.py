"""Filters of the REST list ``GET /api/v1/objects/`` (docs/api.md).

- ``type``, ``created_by_ref``: objects of that STIX type, by that identity;
- ``revoked``: ``true`` or ``false``, anything else is a 400;
- ``added_after``: objects the exchange received strictly after that timestamp (not the
  objects' own timestamps), read by the parser TAXII's ``added_after`` goes through.

Filters combine with AND; an absent one selects everything. Values are read strictly by
:mod:`exchange.api.query`, as TAXII's are (:mod:`exchange.taxii.filters`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.http import QueryDict
from rest_framework import exceptions

from exchange.api.query import added_after_query, query_value
from signatures.models import StixObject

_REVOKED = {"true": True, "false": False}


@dataclass(frozen=True, slots=True)
class ObjectFilter:
    stix_type: str | None = None
    created_by_ref: str | None = None
    revoked: bool | None = None
    added_after: datetime | None = None

    @classmethod
    def from_query(cls, params: QueryDict) -> ObjectFilter:
        revoked = query_value(params, "revoked")
        if revoked is not None and revoked not in _REVOKED:
            raise exceptions.ValidationError({"revoked": "Must be true or false."})
        return cls(
            stix_type=query_value(params, "type"),
            created_by_ref=query_value(params, "created_by_ref"),
            revoked=None if revoked is None else _REVOKED[revoked],
            added_after=added_after_query(params),
        )

    def apply(self, objects: QuerySet[StixObject]) -> QuerySet[StixObject]:
        if self.stix_type is not None:
            objects = objects.filter(type=self.stix_type)
        if self.created_by_ref is not None:
            objects = objects.filter(created_by_ref=self.created_by_ref)
        if self.revoked is not None:
            objects = objects.filter(revoked=self.revoked)
        if self.added_after is not None:
            objects = objects.filter(received_at__gt=self.added_after)
        return objects
