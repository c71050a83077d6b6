"""The queue's search and sort keys as database expressions (docs/console.md, "Search").

On PostgreSQL a search runs on the functions and indexes of the migration
``0003_search_functions``: ``console_stix_inet(type, data)`` (the address or network an
address observable or an indicator's pattern names, GiST-indexed for the ``&&`` "contains or
is contained by" operator) and ``console_search_text(data)`` (lower-cased id, name,
description, pattern, value, hash and fingerprint, trigram-indexed when pg_trgm is
available). On SQLite the same searches run as a plain ``LIKE`` over the same text, and the
address search through :mod:`ipaddress` over the candidate rows.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Expression,
    F,
    Field,
    Func,
    IntegerField,
    Lookup,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, Lower
from django.db.models.lookups import Contains, Regex

from exchange.console.models import CorroborationCount, Triage, TriageState
from exchange.console.readable import KIND_TYPES, kind_pattern_regex
from members.models import Member
from signatures.choices import TlpLevel, tlp_rank
from signatures.models import StixObject

STIX_ID: Final = re.compile(r"[a-z0-9][a-z0-9-]*--[0-9a-fA-F-]{36}")
#: An address comparison in a pattern: ``ipv4-addr:value = '198.51.100.7'`` or
#: ``ipv6-addr:value ISSUBSET '2001:db8::/32'``; the PL/pgSQL twin is in the migration.
PATTERN_ADDRESS: Final = re.compile(
    r"ipv[46]-addr:value\s+(?:=|ISSUBSET)\s+'([0-9A-Fa-f:./]+)'", re.IGNORECASE
)
#: The properties the free-text search reads, in the order of console_search_text.
SEARCH_PROPERTIES: Final = (
    "id",
    "name",
    "description",
    "pattern",
    "value",
    "normalized_sha256",
    "fingerprint",
)
ADDRESS_TYPES: Final = ("ipv4-addr", "ipv6-addr")


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


class InetField(Field):  # type: ignore[type-arg]
    """The PostgreSQL ``inet`` type, for expressions only (never a model column)."""

    def db_type(self, connection: Any) -> str:
        return "inet"


@InetField.register_lookup
class NetOverlaps(Lookup):
    """``inet && inet``: either network contains the other (PostgreSQL section 9.12)."""

    lookup_name = "net_overlaps"

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} && CAST({rhs} AS inet)", (*lhs_params, *rhs_params)


class StixInet(Func):
    """``console_stix_inet(type, data)``: the network an object names, or NULL."""

    function = "console_stix_inet"
    output_field = InetField()


class StixSearchText(Func):
    """``console_search_text(data)``: the lower-cased text the free-text search reads."""

    function = "console_search_text"
    output_field = TextField()


def search_text_expression() -> Expression:
    """The free-text column: the indexed function on PostgreSQL, the same text elsewhere."""
    if is_postgresql():
        return StixSearchText(F("data"))
    # One flat "a || ' ' || b ..." (Concat nests a pair per argument, too deep for SQLite).
    parts = [Coalesce(KT(f"data__{name}"), Value("")) for name in SEARCH_PROPERTIES]
    return Func(
        *parts,
        template="LOWER(%(expressions)s || ' ')",
        arg_joiner=" || ' ' || ",
        output_field=TextField(),
    )


def as_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """``text`` as an address or CIDR (host bits allowed), or None."""
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _named_networks(
    object_type: str, value: Any, pattern: Any
) -> Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    if object_type in ADDRESS_TYPES and isinstance(value, str):
        candidates = [value]
    elif isinstance(pattern, str):
        candidates = PATTERN_ADDRESS.findall(pattern)
    else:
        candidates = []
    for candidate in candidates:
        network = as_network(candidate)
        if network is not None:
            yield network


def objects_in_network(
    objects: QuerySet[StixObject], network: ipaddress.IPv4Network | ipaddress.IPv6Network
) -> QuerySet[StixObject]:
    """Address observables and indicators whose address or network overlaps ``network``.

    PostgreSQL answers with the ``inet`` operator over the GiST index; elsewhere the
    candidates (address observables, indicators comparing an address) are read and tested
    with :mod:`ipaddress`.
    """
    if is_postgresql():
        return objects.alias(console_inet=StixInet(F("type"), F("data"))).filter(
            console_inet__net_overlaps=str(network)
        )
    candidates = objects.filter(
        Q(type__in=ADDRESS_TYPES) | Q(type="indicator", raw__contains="-addr:value")
    ).values_list("pk", "type", "data__value", "data__pattern")
    matched = [
        pk
        for pk, object_type, value, pattern in candidates
        if any(
            named.version == network.version and named.overlaps(network)
            for named in _named_networks(object_type, value, pattern)
        )
    ]
    return objects.filter(pk__in=matched)


def search(objects: QuerySet[StixObject], text: str) -> QuerySet[StixObject]:
    """Narrow the queue to a search: a STIX id, an address or CIDR, or any text.

    - a whole STIX id: that object;
    - an IPv4 or IPv6 address or network: objects naming an address inside it or a network
      around it (``203.0.113.7`` finds an indicator of ``203.0.113.0/24``);
    - anything else: a substring of the id, name, description, pattern, value, prompt hash
      or payment fingerprint, case-insensitively.
    """
    text = text.strip()
    if not text:
        return objects
    if STIX_ID.fullmatch(text):
        return objects.filter(stix_id=text)
    network = as_network(text)
    if network is not None and ("." in text or ":" in text):
        return objects_in_network(objects, network)
    return objects.alias(console_text=search_text_expression()).filter(
        console_text__contains=text.lower()
    )


# --- sort keys --------------------------------------------------------------------------------


def _of_kind_types(kind: str) -> Q:
    """Observables of one of a kind's types, or indicators whose pattern compares one."""
    # Django gives SQLite a REGEXP function backed by Python's re; PostgreSQL's ~ reads
    # the same plain expression alike, so both match exactly what readable.kind_of does.
    # The LIKEs only speed it up: they turn most rows away before the regex is run.
    pattern = KT("data__pattern")
    mentions = Q()
    for object_type in KIND_TYPES[kind]:
        mentions |= Q(Contains(pattern, f"{object_type}:"))
    compares = Q(Regex(pattern, kind_pattern_regex(kind)))
    return Q(type__in=KIND_TYPES[kind]) | (Q(type="indicator") & mentions & compares)


def kind_q(kind: str) -> Q:
    """Objects of a signature kind, as ``readable.kind_of`` reads it: of the kind's types
    and of no kind before it in KIND_TYPES' order ("other": of none)."""
    kinds = list(KIND_TYPES)
    earlier = kinds if kind == "other" else kinds[: kinds.index(kind)]
    chosen = Q() if kind == "other" else _of_kind_types(kind)
    for name in earlier:
        chosen &= ~_of_kind_types(name)
    return chosen


def kind_expression() -> Case:
    """The kind as a column: an indicator comparing several kinds gets the first in
    KIND_TYPES' order, as in ``readable.kind_of``."""
    return Case(
        *(When(_of_kind_types(kind), then=Value(kind)) for kind in KIND_TYPES),
        default=Value("other"),
    )


def lab_rank_expression() -> Case:
    """The publisher's place in the order of member names, as a sort key: a handful of
    comparisons per row, where a join to the members would be made before the sort and
    steer PostgreSQL to check the sharing policy of every row of the first lab."""
    names = Member.objects.order_by("name").values_list("pk", flat=True)
    return Case(
        *(When(publisher_id=pk, then=Value(rank)) for rank, pk in enumerate(names)),
        default=Value(None),
        output_field=IntegerField(),
    )


def tlp_rank_expression() -> Case:
    return Case(
        *(When(tlp=level, then=Value(tlp_rank(level))) for level in TlpLevel.values),
        default=Value(tlp_rank("")),
        output_field=IntegerField(),
    )


def triage_state_expression() -> Case:
    """An object's triage state as a column (objects without a triage row are new).

    One uncorrelated subquery per state, each run once and hashed: a correlated lookup
    would probe the triage table once for every object in the pool.
    """
    return Case(
        *(
            When(
                stix_id__in=Triage.objects.filter(state=state).values("stix_id"),
                then=Value(state),
            )
            for state in TriageState.values
            if state != TriageState.NEW
        ),
        default=Value(TriageState.NEW.value),
        output_field=TextField(),
    )


def shared_patterns(visible: QuerySet[StixObject]) -> QuerySet[Any, Any]:
    """Indicator patterns more than one lab published, with how many labs (``labs``)."""
    return (
        visible.filter(type="indicator")
        .annotate(shared_pattern=KT("data__pattern"))
        .values("shared_pattern")
        .annotate(labs=Count("publisher", distinct=True))
        .filter(labs__gt=1)
        .order_by()
    )


def sighted_by_other_labs(visible: QuerySet[StixObject]) -> QuerySet[Any, Any]:
    """Ids of objects a lab other than their publisher reported a sighting of, with how
    many such labs (``labs``).

    Not correlated with an outer row: PostgreSQL runs it once and hashes it. The sighted
    object's publisher is found through the (stix_id, version) index, one probe per sighting.
    """
    sighted_publisher = (
        StixObject.objects.filter(stix_id=OuterRef("sighted")).order_by().values("publisher")[:1]
    )
    return (
        visible.filter(type="sighting")
        .annotate(sighted=KT("data__sighting_of_ref"))
        .alias(sighted_publisher=Subquery(sighted_publisher))
        .exclude(publisher=F("sighted_publisher"))
        .values("sighted")
        .annotate(labs=Count("publisher", distinct=True))
        .order_by()
    )


def corroboration_rank() -> Case:
    """How many other labs corroborate a queue row, as last counted (CorroborationCount), as
    a sort key. One uncorrelated subquery per number of labs found (a handful), each run
    once and hashed, rather than a lookup per row."""
    counted = CorroborationCount.objects.order_by().values_list("labs", flat=True).distinct()
    return Case(
        *(
            When(
                stix_id__in=CorroborationCount.objects.filter(labs=labs).values("stix_id"),
                then=Value(labs),
            )
            for labs in sorted(counted)
        ),
        default=Value(0),
        output_field=IntegerField(),
    )


@dataclass(frozen=True, slots=True)
class SortKey:
    label: str
    expression: Callable[[QuerySet[StixObject]], Any]


#: The queue's columns an analyst may sort by: URL value -> (column, expression). Every
#: key is read from this table, never from the request, so no column outside it is sorted.
SORT_KEYS: Final[dict[str, SortKey]] = {
    "signature": SortKey(
        "Signature",
        lambda visible: Lower(
            Coalesce(KT("data__name"), KT("data__pattern"), KT("data__value"), F("stix_id"))
        ),
    ),
    "lab": SortKey("Lab", lambda visible: lab_rank_expression()),
    "kind": SortKey("Kind", lambda visible: kind_expression()),
    "tlp": SortKey("TLP", lambda visible: tlp_rank_expression()),
    "confidence": SortKey(
        "Confidence", lambda visible: Cast(KT("data__confidence"), IntegerField())
    ),
    "phase": SortKey("Phase", lambda visible: KT("data__kill_chain_phases__0__phase_name")),
    "signed": SortKey(
        "Signed",
        lambda visible: Case(
            When(data__has_key="signatures", then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        ),
    ),
    "corroboration": SortKey("Corroboration", lambda visible: corroboration_rank()),
    "state": SortKey("State", lambda visible: F("triage_state")),
    "received": SortKey("Received", lambda visible: F("received_at")),
}
DEFAULT_SORT: Final = "-received"


def sort_key(value: str) -> tuple[str, bool]:
    """A URL sort value as (key, descending); unknown keys give the default sort."""
    descending = value.startswith("-")
    key = value.removeprefix("-")
    if key not in SORT_KEYS:
        return sort_key(DEFAULT_SORT)
    return key, descending


def ordered(
    objects: QuerySet[StixObject], visible: QuerySet[StixObject], value: str
) -> QuerySet[StixObject]:
    """Order the queue by a whitelisted key, empty values last, then newest received and
    the primary key: a total order, so pages never repeat or skip a row."""
    key, descending = sort_key(value)
    expression = SORT_KEYS[key].expression(visible)
    if key == "received":
        direction = "-" if descending else ""
        return objects.order_by(f"{direction}received_at", f"{direction}pk")
    objects = objects.alias(console_pattern=KT("data__pattern"), console_sort=expression)
    first = (
        F("console_sort").desc(nulls_last=True)
        if descending
        else F("console_sort").asc(nulls_last=True)
    )
    return objects.order_by(first, "-received_at", "-pk")
