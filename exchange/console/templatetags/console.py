"""Badges and small formatting helpers for the console's templates."""

from __future__ import annotations

import re
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from exchange.console.models import TriageState
from signatures.choices import TlpLevel

register = template.Library()

STIX_ID = re.compile(r"[a-z0-9][a-z0-9-]*--[0-9a-fA-F-]{36}")


@register.simple_tag
def tlp_badge(level: str) -> SafeString:
    """A TLP 2.0 label in the standard's colours (text on black, FIRST TLP 2.0)."""
    if not level or level == "unmarked":
        return mark_safe('<span class="badge tlp tlp-unmarked">unmarked</span>')
    label = TlpLevel(level).label
    return format_html('<span class="badge tlp tlp-{}">{}</span>', level.replace("+", "-"), label)


@register.simple_tag
def state_badge(state: str) -> SafeString:
    label = TriageState(state).label
    return format_html('<span class="badge state state-{}">{}</span>', state, label)


@register.simple_tag
def verification_badge(verification: Any) -> SafeString:
    symbol = {
        "valid": "✔ signed",
        "invalid": "✖ invalid",
        "unsigned": "unsigned",
        "official": "official",
    }
    return format_html(
        '<span class="badge sig sig-{}" title="{}">{}</span>',
        verification.status,
        verification.reason,
        symbol.get(verification.status, verification.status),
    )


@register.filter
def short_id(stix_id: str) -> str:
    """``indicator--1234abcd-…`` : enough to tell objects apart in a table."""
    kind, _, uuid = stix_id.partition("--")
    return f"{kind}--{uuid[:8]}…" if uuid else stix_id


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, key)


@register.filter
def is_stix_id(value: str) -> bool:
    return bool(STIX_ID.fullmatch(value))
