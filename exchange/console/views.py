"""Thin views of the console: read through selectors, act through services."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from django.contrib import messages
from django.contrib.auth.models import User
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from exchange.console import charts, forms, selectors
from exchange.console.auth import ConsoleAuthenticationForm, console_view
from exchange.console.readable import KIND_LABELS
from exchange.console.services import access, forum_objects, triage
from exchange.fanout.models import Delivery
from members import services as member_services
from members.models import ApiToken, Member, SigningKey
from signatures.models import Collection
from signatures.services import signing_key_revoke, signing_key_rotate
from signatures.services.collections import collection_grant_set

QUEUE_PAGE_SIZE = 50
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


@console_view()
def queue(request: HttpRequest) -> HttpResponse:
    forum = selectors.forum_member()
    form = forms.QueueFilterForm(request.GET or None)
    page = Paginator(selectors.queue_objects(forum, form.filters()), QUEUE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "console/queue.html",
        {
            "form": form,
            "page": page,
            "rows": selectors.queue_rows(forum, list(page.object_list)),
            "query": _query_without_page(request),
            "kind_labels": KIND_LABELS,
        },
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
            "review_form": forms.NoteOptionalForm(),
            "reason_form": forms.ReasonForm(),
            "tlp_form": forms.TlpRestrictForm(),
            "note_form": forms.NoteForm(),
            "campaign_form": forms.CampaignLinkForm(),
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


def _object_action_view(
    permission: str, form_class: type[Form], service: Callable[..., Any], success: str
) -> Callable[..., HttpResponseBase]:
    @console_view(permission)
    @require_POST
    def act(request: HttpRequest, stix_id: str) -> HttpResponse:
        form = form_class(request.POST)
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


_OBJECT_ACTION_VIEWS = {slug: _object_action_view(*spec) for slug, spec in OBJECT_ACTIONS.items()}


def object_action(request: HttpRequest, stix_id: str, action: str) -> HttpResponseBase:
    """POST /console/objects/<id>/<action>/: one workflow action, with its own permission."""
    view = _OBJECT_ACTION_VIEWS.get(action)
    if view is None:
        raise Http404("No such action.")
    return view(request, stix_id)


@console_view()
def dashboard(request: HttpRequest) -> HttpResponse:
    data = selectors.dashboard(selectors.forum_member())
    series = {lab: data.published[lab] for lab in data.labs}
    lags = [
        (str(row["subscription"].name), float(row["lag_seconds"])) for row in data.subscriptions
    ]
    return render(
        request,
        "console/dashboard.html",
        {
            "data": data,
            "legend": [(lab, charts.colour(i)) for i, lab in enumerate(data.labs)],
            "per_day": charts.stacked_bars(
                data.days, series, title="Signatures published per day, per lab"
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


@console_view("manage_access")
def members(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "console/members.html",
        {
            "members": selectors.members_overview(),
            "token_form": forms.TokenIssueForm(),
            "key_form": forms.KeyRevokeForm(),
        },
    )


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
            for message in exc.messages:
                messages.error(request, message)
        else:
            # Rendered, never redirected or stored: this response is the only place the
            # raw token ever appears (never_cache keeps it out of the browser's cache).
            return render(request, "console/token_issued.html", {"token": token, "raw": raw})
    else:
        messages.error(request, "Choose at least one scope.")
    return redirect("console:members")


@console_view("manage_access")
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken.objects.select_related("member"), pk=pk)
    with _refusal_as_message(request):
        member_services.token_revoke(
            token=token, actor_member=selectors.forum_member(), actor_user=_actor(request)
        )
        messages.success(request, f"Token {token.prefix}… of {token.member} revoked.")
    return redirect("console:members")


@console_view("manage_keys")
@require_POST
def key_rotate(request: HttpRequest, name: str) -> HttpResponse:
    member = get_object_or_404(Member, name=name)
    with _refusal_as_message(request):
        key = signing_key_rotate(
            member=member, actor_member=selectors.forum_member(), actor_user=_actor(request)
        )
        messages.success(request, f"New signing key {key.kid} for {member}.")
    return redirect("console:members")


@console_view("manage_keys")
@require_POST
def key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = get_object_or_404(SigningKey, pk=pk)
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
@require_POST
def dead_letters_replay(request: HttpRequest) -> HttpResponse:
    ids = request.POST.getlist("delivery")
    deliveries = Delivery.objects.filter(pk__in=ids) if ids else selectors.dead_letters()
    replayed = access.dead_letters_replay(deliveries=list(deliveries), user=_actor(request))
    messages.success(request, f"{replayed} dead letter(s) queued again.")
    return redirect("console:subscriptions")
