"""URL filters of the TAXII 2.1 read and delete endpoints (section 3.4).

- ``added_after``: entries whose server ``date_added`` is strictly later (not the
  objects' own timestamps).
- ``match[id]``, ``match[type]``, ``match[spec_version]``: any of a comma-separated list;
  the parameter may also be repeated.
- ``match[version]``: ``last`` (the default), ``first``, ``all`` or timestamps, any mix.
  A timestamp selects the version whose ``modified`` (or ``created``) is that instant,
  compared at full precision: ``...00.1Z`` and ``...00.100Z`` name the same version,
  ``...00.1234567Z`` and ``...00.1234568Z`` do not.
- ``match[spec_version]`` has no default filter: the exchange stores STIX 2.1 only, so the
  newest spec_version of each object (the spec's default) is every object.

Filters an endpoint does not define are ignored, as are unknown parameters; a malformed
value of a supported one is answered with 400 (values are read by :mod:`exchange.api.query`,
the strict reading the REST API shares).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from typing import Final

from django.db.models import Q, QuerySet
from django.http import QueryDict

from exchange.api.query import added_after_query, query_values, timestamp_query
from signatures.models import CollectionEntry

ADDED_AFTER: Final = "added_after"
MATCH_ID: Final = "match[id]"
MATCH_TYPE: Final = "match[type]"
MATCH_VERSION: Final = "match[version]"
MATCH_SPEC_VERSION: Final = "match[spec_version]"

#: Per endpoint, the filters TAXII 2.1 defines for it (sections 5.3 to 5.8).
LIST_FILTERS: Final = frozenset(
    {ADDED_AFTER, MATCH_ID, MATCH_TYPE, MATCH_VERSION, MATCH_SPEC_VERSION}
)
OBJECT_FILTERS: Final = frozenset({ADDED_AFTER, MATCH_VERSION, MATCH_SPEC_VERSION})
VERSIONS_FILTERS: Final = frozenset({ADDED_AFTER, MATCH_SPEC_VERSION})
DELETE_FILTERS: Final = frozenset({MATCH_VERSION, MATCH_SPEC_VERSION})

_VERSION_KEYWORDS: Final = frozenset({"first", "last", "all"})


@dataclass(frozen=True, slots=True)
class EntryFilter:
    added_after: datetime | None = None
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    #: "first", "last", "all" and 9-digit sortable timestamps; empty means no filter.
    versions: tuple[str, ...] = ()
    spec_versions: tuple[str, ...] = ()

    @classmethod
    def from_query(
        cls, params: QueryDict, *, supported: Iterable[str], default_version: str = "last"
    ) -> EntryFilter:
        supported = frozenset(supported)

        def read(name: str) -> tuple[str, ...]:
            return query_values(params, name) if name in supported else ()

        added_after = added_after_query(params) if ADDED_AFTER in supported else None
        versions: tuple[str, ...] = ()
        if MATCH_VERSION in supported:
            versions = tuple(
                token
                if token in _VERSION_KEYWORDS
                else timestamp_query(token, name=MATCH_VERSION).sortable
                for token in read(MATCH_VERSION) or (default_version,)
            )
        return cls(
            added_after=added_after,
            ids=read(MATCH_ID),
            types=read(MATCH_TYPE),
            versions=versions,
            spec_versions=read(MATCH_SPEC_VERSION),
        )

    def apply(self, entries: QuerySet[CollectionEntry]) -> QuerySet[CollectionEntry]:
        if self.added_after is not None:
            entries = entries.filter(date_added__gt=self.added_after)
        if self.ids:
            entries = entries.filter(stix_id__in=self.ids)
        if self.types:
            entries = entries.filter(type__in=self.types)
        if self.spec_versions:
            entries = entries.filter(spec_version__in=self.spec_versions)
        if self.versions and "all" not in self.versions:
            # is_latest / is_first are kept exact on every write, so "last" (every poll's
            # default) is the partial index entry_page_latest rather than a per-object max.
            wanted: list[Q] = []
            if "last" in self.versions:
                wanted.append(Q(is_latest=True))
            if "first" in self.versions:
                wanted.append(Q(is_first=True))
            if stamps := [v for v in self.versions if v not in _VERSION_KEYWORDS]:
                wanted.append(Q(version__in=stamps))
            entries = entries.filter(reduce(operator.or_, wanted))
        return entries
