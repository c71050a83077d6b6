"""Input validation and output shape of the subscription API (writes go through services)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from exchange.fanout.models import Channel, Delivery, DeliveryAttempt, Subscription
from exchange.fanout.services import SUBSCRIPTION_FILTER_FIELDS
from members.models import Member
from signatures.models import Collection


@extend_schema_field(
    {
        "type": "string",
        "format": "uri",
        "maxLength": 2000,
        "pattern": r"^(https://|http://(localhost|127\.0\.0\.1|\[::1\])[:/])",
        "description": "An https:// URL, or http:// to a loopback address.",
    }
)
class TargetUrlField(serializers.URLField):
    """Where deliveries go; ``url_check`` in the services is the rule, this is its schema."""


class StrictCharField(serializers.CharField):
    """A JSON string only: DRF's CharField would take the number 153 for "153"."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not self.read_only:
            # DRF refuses NUL already (PostgreSQL cannot store it); this says so in the
            # schema. "+": a blank value never reaches validators, and the schema gives blank
            # its own alternative (drf-spectacular's oneOf), which must not match twice.
            self.validators.append(
                RegexValidator(r"^[^\x00]+$", "Null characters are not allowed.")
            )

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: DRF's IntegerField would take "12", 12.0 and true."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class MemberNameField(serializers.SlugRelatedField[Member]):
    """A member by its name. Member names are slugs: any other text names nobody, and is
    refused before the database sees it (PostgreSQL cannot even compare NUL)."""

    _SLUG = RegexValidator(r"\A[-a-zA-Z0-9_]+\Z")
    default_error_messages = {
        **serializers.SlugRelatedField.default_error_messages,
        "not_a_name": "No member has this name: names are letters, digits, '-' and '_'.",
    }

    def to_internal_value(self, data: Any) -> Member:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            self._SLUG(data)
        except DjangoValidationError:
            self.fail("not_a_name")
        return super().to_internal_value(data)


def _strings() -> serializers.ListField:
    return serializers.ListField(
        child=StrictCharField(min_length=1, trim_whitespace=False), required=False
    )


class SubscriptionSerializer(serializers.ModelSerializer[Subscription]):
    # Bodies are JSON: a field takes the JSON type the schema gives it, not its text.
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
    }
    owner = MemberNameField(slug_field="name", queryset=Member.objects.all(), required=False)
    collections = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Collection.objects.all(), required=False
    )
    channel = serializers.ChoiceField(choices=Channel.choices)
    url = TargetUrlField(max_length=2000)
    # The bounds the services check (filters_check), stated where the schema can say them.
    object_types = _strings()
    labels = _strings()
    kill_chain_phases = _strings()
    min_confidence = StrictIntegerField(min_value=0, max_value=100, allow_null=True, required=False)
    max_batch = StrictIntegerField(min_value=1, max_value=settings.FANOUT_MAX_BATCH, required=False)
    max_wait_ms = StrictIntegerField(min_value=0, max_value=2**31 - 1, required=False)
    #: Write-only: a TAXII password never leaves the exchange again.
    taxii_password = StrictCharField(write_only=True, required=False, allow_blank=True)

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


class SubscriptionCreatedSerializer(SubscriptionSerializer):
    """The answer to a create: a webhook's signing ``secret``, this once."""

    # Not read-only: a read-only field is always in the answer, and a TAXII push has no secret.
    secret = serializers.CharField(required=False)

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]
