"""Fan-out in the admin: subscriptions with their health, deliveries with the dead letters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join

from exchange.admin_mixins import admin_actors
from exchange.fanout import services
from exchange.fanout.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    Subscription,
)
from exchange.fanout.selectors import subscription_health
from signatures.models import OutboxEntry


class SubscriptionForm(forms.ModelForm[Subscription]):
    # A URL typed without a scheme means https (Django 6's default, chosen explicitly).
    url = forms.URLField(max_length=2000, assume_scheme="https")
    taxii_password = forms.CharField(
        required=False,
        widget=forms.PasswordInput,
        help_text="TAXII push only. Stored encrypted; leave empty to keep the current one.",
    )

    class Meta:
        model = Subscription
        fields = [
            "owner",
            "name",
            "channel",
            "url",
            "taxii_user",
            "collections",
            *services.SUBSCRIPTION_FILTER_FIELDS,
        ]

    def clean(self) -> dict[str, Any]:
        """The same checks as the API's, through the services, so the admin cannot save a
        subscription the API would refuse."""
        cleaned: dict[str, Any] = super().clean() or {}
        filters = {
            name: cleaned[name] for name in services.SUBSCRIPTION_FILTER_FIELDS if name in cleaned
        }
        try:
            services.filters_check(filters)
            if cleaned.get("owner") is not None:
                services.collections_check(cleaned["owner"], cleaned.get("collections") or [])
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc
        return cleaned

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        try:
            services.url_check(url)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc
        return url


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin[Subscription]):
    form = SubscriptionForm
    list_display = [
        "name",
        "owner",
        "channel",
        "status",
        "last_success_at",
        "consecutive_failures",
        "paused_reason",
    ]
    list_filter = ["status", "channel", "owner"]
    search_fields = ["name", "url", "owner__name"]
    filter_horizontal = ["collections"]
    readonly_fields = [
        "id",
        "status",
        "paused_reason",
        "created_at",
        "last_success_at",
        "last_failure_at",
        "health",
    ]
    actions = ["pause", "resume", "replay_dead_letters"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Fixed at creation, as in the API: a subscription's owner decides what it may read.
        fixed = ["owner", "channel"] if obj is not None else []
        return [*self.readonly_fields, *fixed]

    @admin.display(description="Health")
    def health(self, obj: Subscription) -> str:
        if obj.pk is None:
            return "-"
        rows = subscription_health(obj)
        return format_html_join(
            "", "<div><b>{}</b>: {}</div>", ((key, value) for key, value in rows.items())
        )

    def save_model(self, request: HttpRequest, obj: Subscription, form: Any, change: bool) -> None:
        """Create or change it through the services, so the API's checks and the audit
        record apply; the form only collects the values."""
        data = form.cleaned_data
        fields = {
            name: data[name]
            for name in ("name", "url", "taxii_user", *services.SUBSCRIPTION_FILTER_FIELDS)
            if name in data
        }
        password = data.get("taxii_password") or None  # empty keeps the current one
        collections = list(data.get("collections") or [])
        if change:
            services.subscription_update(
                # The stored row, not ``obj``: the form has already written its values onto
                # ``obj``, and the audit record compares against what was stored.
                subscription=Subscription.objects.get(pk=obj.pk),
                collections=collections,
                taxii_password=password,
                **fields,
                **admin_actors(request),
            )
            return
        created, secret = services.subscription_create(
            owner=data["owner"],
            channel=data["channel"],
            collections=collections,
            taxii_password=password or "",
            **fields,
            **admin_actors(request),
        )
        # The admin's messages, log entry and redirect name the row the service made.
        obj.pk = created.pk
        obj.created_at = created.created_at
        if secret:
            messages.warning(
                request, f"Webhook signing secret, shown this once — copy it now: {secret}"
            )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Nothing left: save_model set the collections through the services."""

    def delete_model(self, request: HttpRequest, obj: Subscription) -> None:
        services.subscription_delete(subscription=obj, **admin_actors(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        for subscription in queryset.select_related("owner"):
            services.subscription_delete(subscription=subscription, **admin_actors(request))

    @admin.action(description="Pause the selected subscriptions")
    def pause(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        for subscription in queryset:
            services.subscription_pause(
                subscription=subscription,
                reason=f"paused by {request.user} in the admin",
                **admin_actors(request),
            )

    @admin.action(description="Resume the selected subscriptions")
    def resume(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        for subscription in queryset:
            services.subscription_resume(subscription=subscription, **admin_actors(request))

    @admin.action(description="Replay every dead letter of the selected subscriptions")
    def replay_dead_letters(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        dead = Delivery.objects.filter(subscription__in=queryset, state=DeliveryState.DEAD)
        count = services.deliveries_replay(deliveries=dead.order_by("first_seq"))
        messages.info(request, f"{count} dead letter(s) queued again.")


class DeliveryAttemptInline(admin.TabularInline[DeliveryAttempt, Delivery]):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["number", "started_at", "status_code", "latency_ms", "error"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin[Delivery]):
    list_display = [
        "id",
        "subscription",
        "state",
        "first_seq",
        "object_count",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "dead_at",
    ]
    list_filter = ["state", "subscription"]
    readonly_fields = [field.name for field in Delivery._meta.fields]
    inlines = [DeliveryAttemptInline]
    actions = ["replay"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Replay the selected dead letters")
    def replay(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = services.deliveries_replay(deliveries=queryset.order_by("first_seq"))
        messages.info(request, f"{count} dead letter(s) queued again.")


@admin.register(OutboxEntry)
class OutboxEntryAdmin(admin.ModelAdmin[OutboxEntry]):
    list_display = ["id", "collection_entry", "created_at", "dispatched_at"]
    readonly_fields = ["collection_entry", "created_at", "dispatched_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
