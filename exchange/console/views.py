"""Thin views of the console: read through selectors, act through services."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import orjson
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.decorators.http import require_http_methods, require_POST

from exchange.console import charts, forms, search, selectors
from exchange.console.auth import ConsoleAuthenticationForm, console_view
from exchange.console.readable import KIND_LABELS
from exchange.console.services import access, forum_objects, pool_counts, triage
from exchange.fanout.models import Delivery
from members import services as member_services
from members.choices import TokenScope
from members.models import ApiToken, Member, SigningKey
from signatures.models import Collection
from signatures.services import signing_key_revoke, signing_key_rotate
from signatures.services.collections import collection_grant_set

QUEUE_PAGE_SIZE = 50
#: How many pages past the one shown the queue counts (CappedPaginator).
QUEUE_PAGES_AHEAD = 10
AUDIT_PAGE_SIZE = 100


class ConsoleLoginView(LoginView):
    """Django's login view with the console's throttled, Forum-only form."""

    form_class = ConsoleAuthenticationForm
    template_name = "console/login.html"
    redirect_authenticated_user = False

    def get_default_redirect_url(self) -> str:
        return reverse("console:queue")


def _actor(request: HttpRequest) -> User:
    """The signed-in user acting (console_view has refused everyone else already)."""
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


@contextmanager
def _refusal_as_message(request: HttpRequest) -> Iterator[None]:
    """Show a service's refusal as one error message on the page the view redirects to."""
    try:
        yield
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@dataclass(frozen=True, slots=True)
class SortHeader:
    """A queue column's header: its sort link and whether the queue is sorted by it."""

    key: str
    label: str
    url: str
    #: "ascending", "descending" or "none" (the aria-sort values).
    current: str
    numeric: bool = False


def _sort_headers(request: HttpRequest, sort: str) -> list[SortHeader]:
    """Each sortable column's link: the same filters, sorted by it; a second click on the
    sorted column reverses it. Numbers and dates sort biggest first on the first click."""
    key, descending = search.sort_key(sort)
    headers = []
    for name, spec in search.SORT_KEYS.items():
        first_descending = name in ("confidence", "corroboration", "received", "tlp", "signed")
        if name == key:
            next_value = name if descending else f"-{name}"
            current = "descending" if descending else "ascending"
        else:
            next_value = f"-{name}" if first_descending else name
            current = "none"
        query = request.GET.copy()
        query.pop("page", None)
        query["sort"] = next_value
        headers.append(
            SortHeader(
                name,
                spec.label,
                f"?{query.urlencode()}",
                current,
                numeric=name in ("confidence", "corroboration"),
            )
        )
    return headers


class CappedPaginator(Paginator):  # type: ignore[type-arg]
    """A paginator that counts only as far as a few pages past the one asked for.

    Counting every visible newest version of 100,000 objects costs the database a pass
    over the pool on every page view, while the page itself is an index range scan. The
    count stops ``QUEUE_PAGES_AHEAD`` pages past the page asked for; ``capped`` says there
    are more, and the page shows "N+ objects".
    """

    def __init__(self, object_list: Any, per_page: int, *, page: str | None) -> None:
        super().__init__(object_list, per_page)
        try:
            # Bounded: the count's LIMIT must stay a bigint; get_page shows the last page
            # for any number past it.
            asked = min(max(int(page or 1), 1), 1_000_000)
        except ValueError:
            asked = 1
        self.limit = (asked + QUEUE_PAGES_AHEAD) * per_page
        self.capped = False

    @cached_property
    def count(self) -> int:
        # Unordered: the count does not depend on the sort, and without an ORDER BY the
        # database stops at the limit instead of sorting the whole pool first.
        objects = cast(QuerySet[Any], self.object_list).order_by()
        counted = len(objects[: self.limit + 1].values_list("pk", flat=True))
        self.capped = counted > self.limit
        return min(counted, self.limit)

    def page(self, number: Any) -> Page:  # type: ignore[type-arg]
        """The page's primary keys first, then its rows: a sort over the pool then carries
        each object's key and id, not its whole JSON, which would spill to disk."""
        page = super().page(number)
        keys = list(cast(QuerySet[Any], page.object_list).values_list("pk", flat=True))
        objects = cast(QuerySet[Any], self.object_list).order_by()
        found = objects.in_bulk(keys)
        page.object_list = [found[key] for key in keys if key in found]
        return page


@console_view()
def queue(request: HttpRequest) -> HttpResponse:
    forum = selectors.forum_member()
    form = forms.QueueFilterForm(request.GET or None)
    filters = form.filters()
    if search.sort_key(filters.sort)[0] == "corroboration":
        pool_counts.pool_counted_for_page()  # the sort reads the last count
    paginator = CappedPaginator(
        selectors.queue_objects(forum, filters), QUEUE_PAGE_SIZE, page=request.GET.get("page")
    )
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "console/queue.html",
        {
            "form": form,
            "filters": filters,
            "page": page,
            "rows": selectors.queue_rows(forum, list(page.object_list)),
            "query": _query_without_page(request),
            "headers": _sort_headers(request, filters.sort),
            "kind_labels": KIND_LABELS,
            "bulk_form": forms.BulkForm(auto_id="bulk_%s"),
        },
    )


# --- confirmation -----------------------------------------------------------------------------

#: The POST field that says the analyst saw the confirmation page and confirmed.
CONFIRM_FIELD = "confirm"


def _confirmed(request: HttpRequest) -> bool:
    return request.method == "POST" and request.POST.get(CONFIRM_FIELD) == "yes"


def _confirm_page(
    request: HttpRequest,
    *,
    title: str,
    consequences: list[str],
    button: str,
    cancel_url: str,
    form: Form | None = None,
    show: tuple[str, ...] | None = None,
    hidden: dict[str, str | list[str]] | None = None,
    subjects: list[tuple[str, str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The page every destructive or irreversible action shows first: what will happen,
    to what, and a form that posts the same request again with ``confirm=yes``."""
    fields = [
        (name, value)
        for name, values in (hidden or {}).items()
        for value in (values if isinstance(values, list) else [values])
    ]
    return render(
        request,
        "console/confirm.html",
        {
            "title": title,
            "consequences": consequences,
            "button": button,
            "cancel_url": cancel_url,
            "fields": [form[name] for name in (show if show is not None else list(form.fields))]
            if form is not None
            else [],
            "hidden": fields,
            "subjects": subjects or [],
            "action_url": request.path,
        },
        status=status,
    )


@console_view()
def object_detail(request: HttpRequest, stix_id: str) -> HttpResponse:
    forum = selectors.forum_member()
    detail = selectors.object_detail(forum, stix_id)
    if detail is None:
        raise Http404("No such object, or the sharing policy keeps it from the Forum.")
    return render(
        request,
        "console/detail.html",
        {
            "d": detail,
            "kind_labels": KIND_LABELS,
            "raw": orjson.dumps(
                orjson.loads(detail.latest.raw), option=orjson.OPT_INDENT_2
            ).decode(),
            "review_form": forms.NoteOptionalForm(auto_id="review_%s"),
            "retire_form": forms.ReasonForm(auto_id="retire_%s"),
            "revoke_form": forms.ReasonForm(auto_id="revoke_%s"),
            "tlp_form": forms.TlpRestrictForm(auto_id="tlp_%s"),
            "note_form": forms.NoteForm(auto_id="note_%s"),
            "campaign_form": forms.CampaignLinkForm(auto_id="campaign_%s"),
        },
    )


#: action slug -> (permission, form class, service, success message). Each form's fields
#: are the service's keyword arguments besides stix_id and user.
OBJECT_ACTIONS: dict[str, tuple[str, type[Form], Callable[..., Any], str]] = {
    "review": (
        "triage_object",
        forms.NoteOptionalForm,
        triage.object_review,
        "Under review.",
    ),
    "release": (
        "release_object",
        forms.NoteOptionalForm,
        triage.object_release,
        "Released to partners: the object is in the partner feed.",
    ),
    "members-only": (
        "triage_object",
        forms.NoteOptionalForm,
        triage.object_keep_members_only,
        "Kept members-only.",
    ),
    "retire": (
        "retire_object",
        forms.ReasonForm,
        triage.object_retire,
        "Retired: partners no longer get it.",
    ),
    "revoke": (
        "retire_object",
        forms.ReasonForm,
        triage.object_revoke,
        "Revoked: the Forum published a revocation opinion and retired the object.",
    ),
    "tlp": (
        "restrict_tlp",
        forms.TlpRestrictForm,
        triage.object_tlp_restrict,
        "TLP restricted.",
    ),
    "note": ("annotate_object", forms.NoteForm, forum_objects.object_note_add, "Note published."),
    "campaign": (
        "annotate_object",
        forms.CampaignLinkForm,
        forum_objects.object_campaign_link,
        "Linked to the campaign.",
    ),
}


#: Object actions that cannot be undone: shown on a confirmation page first.
CONFIRMED_ACTIONS = frozenset({"retire", "revoke"})


def _object_consequences(action: str, stix_id: str) -> list[str]:
    forum = selectors.forum_member()
    latest = selectors.visible_latest(forum, stix_id)
    released = selectors.partner_feed_versions(stix_id)
    withdrawn = (
        f"The {released} version{'s' if released != 1 else ''} in the partner feed "
        f"{'are' if released != 1 else 'is'} withdrawn: partners no longer get it."
        if released
        else "It is not in the partner feed: partners never got it."
    )
    retired = [
        "Its triage state becomes Retired. Retirement is final: no later move, no release.",
        withdrawn,
        f"{latest.publisher.name}'s own copies stay on the members' feed; only the "
        "publisher can revoke its object.",
    ]
    if action == "revoke":
        where = "the members' feed and the partner feed" if released else "the members' feed"
        return [
            "The Forum publishes, signed as itself, an opinion of strongly-disagree labelled "
            f"revocation, with your reason as its explanation, on {where}. A published "
            "opinion cannot be withdrawn.",
            *retired,
        ]
    return retired


def _object_action_view(
    slug: str,
    permission: str,
    form_class: type[Form],
    service: Callable[..., Any],
    success: str,
) -> Callable[..., HttpResponseBase]:
    confirm = slug in CONFIRMED_ACTIONS

    @console_view(permission)
    @require_http_methods(["GET", "POST"] if confirm else ["POST"])
    def act(request: HttpRequest, stix_id: str) -> HttpResponse:
        if confirm and not _confirmed(request):
            return _object_confirm(request, slug, stix_id, form_class)
        form = form_class(request.POST)
        if confirm and not form.is_valid():
            return _object_confirm(request, slug, stix_id, form_class)
        if not form.is_valid():
            for message in ValidationError(form.errors).messages:
                messages.error(request, message)
            return redirect("console:object", stix_id=stix_id)
        try:
            service(stix_id=stix_id, user=_actor(request), **form.cleaned_data)
            messages.success(request, success)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        return redirect("console:object", stix_id=stix_id)

    return act


def _object_confirm(
    request: HttpRequest, slug: str, stix_id: str, form_class: type[Form]
) -> HttpResponse:
    forum = selectors.forum_member()
    detail = selectors.object_detail(forum, stix_id)
    if detail is None:
        raise Http404("No such object, or the sharing policy keeps it from the Forum.")
    # A POST (from the detail page, or a confirmation with an error) keeps what was typed;
    # a GET shows the empty form.
    form = form_class(request.POST or None, auto_id=f"{slug}_%s")
    titles = {"retire": "Retire", "revoke": "Revoke on the publisher's behalf"}
    name = str(detail.latest.data.get("name") or detail.summary)
    return _confirm_page(
        request,
        title=f"{titles[slug]}: {name}",
        consequences=_object_consequences(slug, stix_id),
        button=titles[slug],
        cancel_url=reverse("console:object", args=[stix_id]),
        form=form,
        subjects=[(stix_id, f"{name} · {detail.summary} · {detail.latest.publisher.name}")],
    )


_OBJECT_ACTION_VIEWS = {
    slug: _object_action_view(slug, *spec) for slug, spec in OBJECT_ACTIONS.items()
}


def object_action(request: HttpRequest, stix_id: str, action: str) -> HttpResponseBase:
    """POST /console/objects/<id>/<action>/: one workflow action, with its own permission."""
    view = _OBJECT_ACTION_VIEWS.get(action)
    if view is None:
        raise Http404("No such action.")
    return view(request, stix_id)


# --- bulk triage --------------------------------------------------------------------------------

#: bulk action -> (permission, confirmed first, what the message says was done).
BULK_ACTIONS: dict[str, tuple[str, bool, str]] = {
    "release": ("release_object", False, "released to partners"),
    "retire": ("retire_object", True, "retired"),
    "tlp": ("restrict_tlp", True, "restricted"),
    "note": ("annotate_object", False, "noted"),
}


def _bulk_consequences(action: str, form: forms.BulkForm, count: int) -> list[str]:
    objects = f"{count} object{'s' if count != 1 else ''}"
    if action == "retire":
        return [
            f"The {objects} below become Retired: final, no later move or release.",
            "Every version of them in the partner feed is withdrawn: partners no longer get "
            "them. The publishers' own copies stay on the members' feed.",
            "An object the workflow cannot retire is skipped and named afterwards.",
        ]
    level = form.cleaned_data.get("level") or ""
    label = dict(forms.BulkForm.base_fields["level"].choices).get(level, level)  # type: ignore[attr-defined]
    return [
        f"The {objects} below are served as {label} from now on, on every feed and push; "
        "the exchange never widens an object's TLP again.",
        "A released object that partners may not be served at that level is withdrawn "
        "from the partner feed and kept members-only.",
        f"Objects already at {label} or stricter are skipped and named afterwards.",
    ]


@console_view()
@require_POST
def bulk(request: HttpRequest) -> HttpResponseBase:
    """POST /console/bulk/: one action on the selected queue rows, one service call."""
    back = f"{reverse('console:queue')}?{request.POST.get('next', '')}"
    form = forms.BulkForm(request.POST, auto_id="bulk_%s")
    if not form.is_valid():
        for message in ValidationError(form.errors).messages:
            messages.error(request, message)
        return redirect(back)
    action, ids = form.cleaned_data["action"], form.cleaned_data["ids"]
    permission, confirm, done = BULK_ACTIONS[action]
    if not request.user.has_perm(f"console.{permission}"):
        raise PermissionDenied("Your role may not do this.")
    if confirm and not _confirmed(request):
        forum = selectors.forum_member()
        rows = selectors.queue_rows(
            forum, list(selectors.visible_objects(forum).filter(stix_id__in=ids).latest_versions())
        )
        return _confirm_page(
            request,
            title=f"{form.action_label()} {len(ids)} object{'s' if len(ids) != 1 else ''}",
            consequences=_bulk_consequences(action, form, len(ids)),
            button=form.action_label(),
            cancel_url=back,
            form=form,
            show=("reason",) if action == "retire" else ("level", "reason"),
            hidden={"ids": ids, "action": action, "next": request.POST.get("next", "")},
            subjects=[
                (row.obj.stix_id, " · ".join(filter(None, [row.name, row.summary, row.lab])))
                for row in rows
            ],
        )
    user = _actor(request)
    with _refusal_as_message(request):
        data = form.cleaned_data
        if action == "note":
            forum_objects.objects_note_add(
                stix_ids=ids, user=user, content=data["content"], abstract=""
            )
            messages.success(request, f"One Forum note published about {len(ids)} objects.")
            return redirect(back)
        if action == "release":
            outcome = triage.objects_release(stix_ids=ids, user=user, note=data["note"])
        elif action == "retire":
            outcome = triage.objects_retire(stix_ids=ids, user=user, reason=data["reason"])
        else:
            outcome = triage.objects_tlp_restrict(
                stix_ids=ids, user=user, level=data["level"], reason=data["reason"]
            )
        if outcome.done:
            messages.success(request, f"{len(outcome.done)} object(s) {done}.")
        for stix_id, reason in outcome.refused.items():
            messages.error(request, f"{stix_id}: {reason}")
    return redirect(back)


@console_view()
def dashboard(request: HttpRequest) -> HttpResponse:
    data = selectors.dashboard(
        selectors.forum_member(), pool_counts.pool_counted_for_page(), now=timezone.now()
    )
    series = {lab: data.published[lab] for lab in data.labs}
    lags = [
        (str(row["subscription"].name), float(row["lag_seconds"])) for row in data.subscriptions
    ]
    return render(
        request,
        "console/dashboard.html",
        {
            "data": data,
            "count_seconds": settings.CONSOLE_COUNT_SECONDS,
            "legend": [(lab, charts.colour(i)) for i, lab in enumerate(data.labs)],
            "per_day": charts.stacked_bars(
                data.days,
                series,
                title="Signatures published per day, per lab",
                y_title="Objects published",
            ),
            "by_kind": charts.horizontal_bars(
                [(KIND_LABELS.get(kind, kind), count) for kind, count in data.kinds],
                title="Signatures by kind",
            ),
            "by_state": charts.horizontal_bars(
                data.states, title="Objects by triage state", fill=charts.PALETTE[3]
            ),
            "corroboration": charts.ring(
                data.corroborated, data.indicators, title="Indicators corroborated by another lab"
            ),
            "lag": charts.horizontal_bars(
                lags, title="Delivery lag per subscription", unit=" s", fill=charts.PALETTE[2]
            )
            if lags
            else None,
        },
    )


# --- audit log ------------------------------------------------------------------------------


@console_view("view_audit")
def audit(request: HttpRequest) -> HttpResponse:
    form = forms.AuditFilterForm(request.GET or None)
    page = Paginator(selectors.audit_events(form.filters()), AUDIT_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "console/audit.html",
        {"form": form, "page": page, "query": _query_without_page(request)},
    )


class _Echo:
    """A file-like object csv.writer writes rows to, returning each line for streaming."""

    def write(self, value: str) -> str:
        return value


@console_view("view_audit")
def audit_export(request: HttpRequest, fmt: str) -> HttpResponse | StreamingHttpResponse:
    events = selectors.audit_events(forms.AuditFilterForm(request.GET or None).filters())
    rows = (selectors.audit_event_as_dict(event) for event in events.iterator())
    if fmt == "json":
        response = HttpResponse(
            orjson.dumps(list(rows), option=orjson.OPT_INDENT_2), content_type="application/json"
        )
    else:
        writer = csv.writer(_Echo())
        columns = ["id", "created_at", "action", "target", "actor_user", "actor_member"]
        columns += ["before", "after", "note"]

        def lines() -> Any:
            yield writer.writerow(columns)
            for row in rows:
                for name in ("before", "after"):
                    row[name] = orjson.dumps(row[name]).decode() if row[name] else ""
                yield writer.writerow([row[name] for name in columns])

        response = StreamingHttpResponse(lines(), content_type="text/csv")  # type: ignore[assignment]
    response["Content-Disposition"] = f'attachment; filename="audit-log.{fmt}"'
    return response


# --- members & access -----------------------------------------------------------------------


def _members_page(
    request: HttpRequest, *, token_member: str = "", token_errors: list[str] | None = None
) -> HttpResponse:
    """The members page; a refused token form stays open under its member, with its
    errors and what was typed, instead of a message at the top of the page."""
    return render(
        request,
        "console/members.html",
        {
            "members": selectors.members_overview(),
            "scope_choices": TokenScope.choices,
            "token_member": token_member,
            "token_errors": token_errors or [],
            "token_data": request.POST if token_member else {},
        },
        status=400 if token_errors else 200,
    )


@console_view("manage_access")
def members(request: HttpRequest) -> HttpResponse:
    return _members_page(request)


@console_view("manage_access")
@require_POST
def token_issue(request: HttpRequest, name: str) -> HttpResponse:
    member = get_object_or_404(Member, name=name)
    form = forms.TokenIssueForm(request.POST)
    if form.is_valid():
        try:
            token, raw = access.console_token_issue(
                member=member, user=_actor(request), **form.cleaned_data
            )
        except ValidationError as exc:
            return _members_page(request, token_member=member.name, token_errors=exc.messages)
        # Rendered, never redirected or stored: this response is the only place the raw
        # token ever appears (never_cache keeps it out of the browser's cache).
        return render(request, "console/token_issued.html", {"token": token, "raw": raw})
    return _members_page(
        request,
        token_member=member.name,
        token_errors=ValidationError(form.errors).messages
        if "scopes" not in form.errors
        else ["Choose at least one scope."],
    )


@console_view("manage_access")
@require_http_methods(["GET", "POST"])
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken.objects.select_related("member"), pk=pk)
    if not _confirmed(request):
        named = f" ({token.name})" if token.name else ""
        return _confirm_page(
            request,
            title=f"Revoke token {token.prefix}… of {token.member.display_name}",
            consequences=[
                f"The token {token.prefix}…{named}, scopes {', '.join(token.scopes)}, stops "
                "working at once: every client that uses it is refused from its next request.",
                "A revoked token cannot be restored; issue a new one if it is needed again.",
            ],
            button="Revoke token",
            cancel_url=f"{reverse('console:members')}#member-{token.member.name}",
        )
    with _refusal_as_message(request):
        member_services.token_revoke(
            token=token, actor_member=selectors.forum_member(), actor_user=_actor(request)
        )
        messages.success(request, f"Token {token.prefix}… of {token.member} revoked.")
    return redirect("console:members")


@console_view("manage_keys")
@require_http_methods(["GET", "POST"])
def key_rotate(request: HttpRequest, name: str) -> HttpResponse:
    member = get_object_or_404(Member, name=name)
    if not _confirmed(request):
        current = list(
            member.signing_keys.filter(custodial=True, state="active").values_list("kid", flat=True)
        )
        return _confirm_page(
            request,
            title=f"Rotate the custodial signing key of {member.display_name}",
            consequences=[
                f"A new custodial key signs {member.display_name}'s objects from now on.",
                f"The current custodial key{'s' if len(current) != 1 else ''} "
                f"({', '.join(current) or 'none'}) "
                "are retired: their private part is erased and they never sign again; what "
                "they signed keeps verifying.",
            ],
            button="Rotate key",
            cancel_url=f"{reverse('console:members')}#member-{member.name}",
        )
    with _refusal_as_message(request):
        key = signing_key_rotate(
            member=member, actor_member=selectors.forum_member(), actor_user=_actor(request)
        )
        messages.success(request, f"New signing key {key.kid} for {member}.")
    return redirect("console:members")


@console_view("manage_keys")
@require_http_methods(["GET", "POST"])
def key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(SigningKey.objects.select_related("member"), pk=pk)
    if not _confirmed(request):
        return _confirm_page(
            request,
            title=f"Revoke signing key {key.kid} of {key.member.display_name}",
            consequences=[
                f"The key {key.kid} is revoked from now: it never signs again, and any "
                "signature it makes from now on verifies as invalid.",
                "Revocation is final and is published with the member's key set.",
            ],
            button="Revoke key",
            cancel_url=f"{reverse('console:members')}#member-{key.member.name}",
            form=forms.KeyRevokeForm(request.POST or None, auto_id="key_%s"),
        )
    form = forms.KeyRevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the key is revoked.")
        return redirect("console:members")
    with _refusal_as_message(request):
        signing_key_revoke(
            key=key,
            reason=form.cleaned_data["reason"],
            actor_member=selectors.forum_member(),
            actor_user=_actor(request),
        )
        messages.success(request, f"Key {key.kid} revoked.")
    return redirect("console:members")


@console_view("manage_access")
def collections(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "console/collections.html",
        {
            "collections": selectors.collections_overview(),
            "members": Member.objects.order_by("name"),
        },
    )


@console_view("manage_access")
@require_POST
def collection_grant(request: HttpRequest, pk: str) -> HttpResponse:
    collection = get_object_or_404(Collection, pk=pk)
    form = forms.GrantForm(request.POST)
    if form.is_valid():
        with _refusal_as_message(request):
            collection_grant_set(
                collection=collection,
                actor_member=selectors.forum_member(),
                actor_user=_actor(request),
                **form.cleaned_data,
            )
            messages.success(request, f"Access to {collection.title} updated.")
    else:
        messages.error(request, "Choose a member, a role and grant or withdraw.")
    return redirect("console:collections")


@console_view("manage_subscriptions")
def subscriptions(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "console/subscriptions.html",
        {"health": selectors.subscriptions_health(), "dead": selectors.dead_letters()[:200]},
    )


@console_view("manage_subscriptions")
@require_http_methods(["GET", "POST"])
def dead_letters_replay(request: HttpRequest) -> HttpResponse:
    ids = request.POST.getlist("delivery")
    deliveries = Delivery.objects.filter(pk__in=ids) if ids else selectors.dead_letters()
    if not ids and not _confirmed(request):
        dead = list(deliveries)
        subscriptions = sorted({str(d.subscription.name) for d in dead})
        return _confirm_page(
            request,
            title="Replay all dead letters",
            consequences=[
                f"{len(dead)} dead letter{'s' if len(dead) != 1 else ''} are queued again and "
                f"sent to {len(subscriptions)} subscription"
                f"{'s' if len(subscriptions) != 1 else ''}: {', '.join(subscriptions) or '—'}.",
                "Subscribers receive the objects again; a failing endpoint fails again.",
            ],
            button="Replay all",
            cancel_url=reverse("console:subscriptions"),
        )
    replayed = access.dead_letters_replay(deliveries=list(deliveries), user=_actor(request))
    messages.success(request, f"{replayed} dead letter(s) queued again.")
    return redirect("console:subscriptions")
