"""The version of an entry as TAXII reports it in manifests and versions resources."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Expression
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce

from exchange.taxii.pagination import timestamp_format


def version_text() -> Expression:
    """The object's ``modified`` (or ``created``) as it was sent, every digit kept.

    The ``version`` column is padded to 9 fraction digits for exact comparison; clients
    compare versions with the objects' own timestamps, so they get the text back as sent.
    """
    return Coalesce(
        KeyTextTransform("modified", "stix_object__data"),
        KeyTextTransform("created", "stix_object__data"),
    )


def version_or_date_added(version: str | None, date_added: datetime) -> str:
    """TAXII 2.1 section 5.3.1: an object with no version is versioned by its date_added."""
    return version or timestamp_format(date_added)
