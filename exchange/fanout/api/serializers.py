"""Input validation and output shape of the subscription API (writes go through services)."""

from __future__ import annotations

from rest_framework import serializers

from exchange.fanout.models import Channel, Delivery, DeliveryAttempt, Subscription
from exchange.fanout.services import SUBSCRIPTION_FILTER_FIELDS
from members.models import Member
from signatures.models import Collection


class SubscriptionSerializer(serializers.ModelSerializer[Subscription]):
    owner = serializers.SlugRelatedField(
        slug_field="name", queryset=Member.objects.all(), required=False
    )
    collections = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Collection.objects.all(), required=False
    )
    channel = serializers.ChoiceField(choices=Channel.choices)
    #: Write-only: a TAXII password never leaves the exchange again.
    taxii_password = serializers.CharField(write_only=True, required=False, allow_blank=True)

    class Meta:
        model = Subscription
        fields = [
            "id",
            "owner",
            "name",
            "channel",
            "url",
            "collections",
            *SUBSCRIPTION_FILTER_FIELDS,
            "taxii_user",
            "taxii_password",
            "status",
            "paused_reason",
            "created_at",
            "last_success_at",
            "consecutive_failures",
        ]
        read_only_fields = [
            "id",
            "status",
            "paused_reason",
            "created_at",
            "last_success_at",
            "consecutive_failures",
        ]


class DeliveryAttemptSerializer(serializers.ModelSerializer[DeliveryAttempt]):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "started_at", "status_code", "latency_ms", "error"]


class DeliverySerializer(serializers.ModelSerializer[Delivery]):
    attempts_log = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "state",
            "first_seq",
            "object_count",
            "attempts",
            "next_attempt_at",
            "created_at",
            "delivered_at",
            "dead_at",
            "last_status_code",
            "last_error",
            "attempts_log",
        ]
