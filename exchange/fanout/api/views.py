"""``/api/v1/subscriptions/``: manage push subscriptions, watch their health, replay dead
letters. Any member manages its own subscriptions (reading is what they do, so the read
scope suffices); the Forum sees all of them and may create them for any member."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.fanout import services
from exchange.fanout.api.serializers import (
    DeliverySerializer,
    SubscriptionCreatedSerializer,
    SubscriptionSerializer,
)
from exchange.fanout.models import Delivery, DeliveryState, Subscription, SubscriptionStatus
from exchange.fanout.selectors import subscription_health, subscriptions_of
from members.choices import MemberKind
from members.models import Member

#: How many dead letters a replay queued again.
_REPLAYED = inline_serializer(
    "Replayed", fields={"replayed": serializers.IntegerField(min_value=0)}
)


#: subscription_health (exchange/fanout/selectors.py), as docs/fanout.md describes it.
_HEALTH = inline_serializer(
    "SubscriptionHealth",
    fields={
        "id": serializers.UUIDField(),
        "status": serializers.ChoiceField(choices=SubscriptionStatus.choices),
        "paused_reason": serializers.CharField(),
        "backlog": serializers.IntegerField(min_value=0),
        "lag_seconds": serializers.FloatField(min_value=0),
        "oldest_undelivered_at": serializers.DateTimeField(allow_null=True),
        "last_success_at": serializers.DateTimeField(allow_null=True),
        "last_failure_at": serializers.DateTimeField(allow_null=True),
        "consecutive_failures": serializers.IntegerField(min_value=0),
        "deliveries": serializers.DictField(child=serializers.IntegerField(min_value=0)),
        "dead_letters": serializers.IntegerField(min_value=0),
        "dead_letter_objects": serializers.IntegerField(min_value=0),
        "sending": serializers.BooleanField(),
        "head": inline_serializer(
            "SubscriptionHealthHead",
            allow_null=True,
            fields={
                "delivery_id": serializers.UUIDField(),
                "attempts": serializers.IntegerField(min_value=0),
                "next_attempt_at": serializers.DateTimeField(),
                "last_status_code": serializers.IntegerField(allow_null=True),
                "last_error": serializers.CharField(),
            },
        ),
    },
)


def _validation_error(exc: DjangoValidationError) -> exceptions.ValidationError:
    detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
    return exceptions.ValidationError(detail)


def _caller(request: Request) -> Member:
    """The member the token authenticates (members.authentication), for the audit log."""
    member: Member = request.user  # type: ignore[assignment]
    return member


def _subscription(request: Request, subscription_id: str) -> Subscription:
    member = _caller(request)
    return get_object_or_404(subscriptions_of(member).select_related("owner"), pk=subscription_id)


class SubscriptionListView(APIView):
    @extend_schema(responses=SubscriptionSerializer(many=True))
    def get(self, request: Request) -> Response:
        member: Member = request.user  # type: ignore[assignment]
        rows = subscriptions_of(member).select_related("owner").prefetch_related("collections")
        return Response(SubscriptionSerializer(rows, many=True).data)

    @extend_schema(request=SubscriptionSerializer, responses={201: SubscriptionCreatedSerializer})
    def post(self, request: Request) -> Response:
        """Create a subscription; a webhook's signing ``secret`` is in this answer only."""
        member: Member = request.user  # type: ignore[assignment]
        serializer = SubscriptionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields: dict[str, Any] = dict(serializer.validated_data)
        owner = fields.pop("owner", member)
        if owner != member and member.kind != MemberKind.FORUM:
            raise exceptions.PermissionDenied("Only the Forum creates subscriptions for others.")
        try:
            subscription, secret = services.subscription_create(
                owner=owner, actor_member=member, **fields
            )
        except DjangoValidationError as exc:
            raise _validation_error(exc) from exc
        body = dict(SubscriptionSerializer(subscription).data)
        if secret:
            body["secret"] = secret
        return Response(body, status=201)


class SubscriptionDetailView(APIView):
    @extend_schema(responses=SubscriptionSerializer)
    def get(self, request: Request, subscription_id: str) -> Response:
        return Response(SubscriptionSerializer(_subscription(request, subscription_id)).data)

    @extend_schema(request=SubscriptionSerializer, responses=SubscriptionSerializer)
    def patch(self, request: Request, subscription_id: str) -> Response:
        subscription = _subscription(request, subscription_id)
        serializer = SubscriptionSerializer(subscription, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        fields: dict[str, Any] = dict(serializer.validated_data)
        for fixed in ("owner", "channel"):
            if fixed in fields and fields.pop(fixed) != getattr(subscription, fixed):
                detail: dict[str, str] = {fixed: "Fixed at creation."}
                raise exceptions.ValidationError(detail)
        try:
            services.subscription_update(
                subscription=subscription, actor_member=_caller(request), **fields
            )
        except DjangoValidationError as exc:
            raise _validation_error(exc) from exc
        return Response(SubscriptionSerializer(subscription).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, subscription_id: str) -> Response:
        services.subscription_delete(
            subscription=_subscription(request, subscription_id), actor_member=_caller(request)
        )
        return Response(status=204)


class SubscriptionPauseView(APIView):
    @extend_schema(
        request=inline_serializer(
            "SubscriptionPause", fields={"reason": serializers.CharField(required=False)}
        ),
        responses=SubscriptionSerializer,
    )
    def post(self, request: Request, subscription_id: str) -> Response:
        subscription = _subscription(request, subscription_id)
        data = request.data if isinstance(request.data, dict) else {}
        reason = str(data.get("reason") or "paused by its owner")
        services.subscription_pause(
            subscription=subscription, reason=reason, actor_member=_caller(request)
        )
        return Response(SubscriptionSerializer(subscription).data)


class SubscriptionResumeView(APIView):
    @extend_schema(request=None, responses=SubscriptionSerializer)
    def post(self, request: Request, subscription_id: str) -> Response:
        subscription = _subscription(request, subscription_id)
        services.subscription_resume(subscription=subscription, actor_member=_caller(request))
        return Response(SubscriptionSerializer(subscription).data)


class SubscriptionSecretView(APIView):
    @extend_schema(
        request=None,
        responses=inline_serializer(
            "SubscriptionSecret",
            fields={"id": serializers.UUIDField(), "secret": serializers.CharField()},
        ),
    )
    def post(self, request: Request, subscription_id: str) -> Response:
        """Replace the webhook signing secret; the new one is in this answer only."""
        subscription = _subscription(request, subscription_id)
        try:
            secret = services.subscription_secret_rotate(
                subscription=subscription, actor_member=_caller(request)
            )
        except DjangoValidationError as exc:
            raise _validation_error(exc) from exc
        return Response({"id": str(subscription.pk), "secret": secret})


class SubscriptionHealthView(APIView):
    @extend_schema(responses=_HEALTH)
    def get(self, request: Request, subscription_id: str) -> Response:
        return Response(subscription_health(_subscription(request, subscription_id)))


class DeliveryListView(APIView):
    @extend_schema(responses=DeliverySerializer(many=True))
    def get(self, request: Request, subscription_id: str) -> Response:
        """The newest deliveries (at most 100), ``?state=dead`` for the dead letters."""
        subscription = _subscription(request, subscription_id)
        rows = Delivery.objects.filter(subscription=subscription)
        state = request.query_params.get("state")
        if state:
            if state not in DeliveryState.values:
                raise exceptions.ValidationError({"state": f"One of {DeliveryState.values}."})
            rows = rows.filter(state=state)
        rows = rows.order_by("-first_seq").prefetch_related("attempts_log")[:100]
        return Response(DeliverySerializer(rows, many=True).data)


class DeliveryReplayView(APIView):
    @extend_schema(request=None, responses=_REPLAYED)
    def post(self, request: Request, subscription_id: str, delivery_id: str) -> Response:
        """Send one dead letter again."""
        subscription = _subscription(request, subscription_id)
        delivery = get_object_or_404(Delivery, pk=delivery_id, subscription=subscription)
        if not services.delivery_replay(delivery=delivery):
            raise exceptions.ValidationError({"state": "Only a dead letter can be replayed."})
        return Response({"replayed": 1})


class SubscriptionReplayView(APIView):
    @extend_schema(request=None, responses=_REPLAYED)
    def post(self, request: Request, subscription_id: str) -> Response:
        """Send every dead letter of the subscription again, oldest first."""
        subscription = _subscription(request, subscription_id)
        dead = Delivery.objects.filter(subscription=subscription, state=DeliveryState.DEAD)
        return Response({"replayed": services.deliveries_replay(deliveries=dead)})
