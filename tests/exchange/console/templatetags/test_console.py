"""exchange/console/templatetags/console.py: the console's badges and id helpers."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from exchange.console.templatetags.console import (
    get_item,
    is_stix_id,
    short_id,
    state_badge,
    tlp_badge,
    verification_badge,
)
from signatures.object_signing import Verification

STIX_ID = "indicator--6f1d8a2e-3c1b-4d8e-9a57-0b6c2f7e1a01"


@pytest.mark.parametrize(
    ("level", "html"),
    [
        ("", '<span class="badge tlp tlp-unmarked">unmarked</span>'),
        ("unmarked", '<span class="badge tlp tlp-unmarked">unmarked</span>'),
        ("green", '<span class="badge tlp tlp-green">TLP:GREEN</span>'),
        ("amber+strict", '<span class="badge tlp tlp-amber-strict">TLP:AMBER+STRICT</span>'),
    ],
)
def test_it_draws_a_tlp_badge_per_level(level: str, html: str) -> None:
    assert tlp_badge(level) == html


def test_it_refuses_a_tlp_level_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="purple"):
        tlp_badge("purple")


def test_it_draws_a_state_badge_with_the_states_label() -> None:
    assert state_badge("members-only") == (
        '<span class="badge state state-members-only">Kept members-only</span>'
    )


def test_it_escapes_the_verifiers_reason_in_a_signature_badge() -> None:
    invalid = Verification(status="invalid", reason='changed after signing: "<b>"')
    assert verification_badge(invalid) == (
        '<span class="badge sig sig-invalid" '
        'title="changed after signing: &quot;&lt;b&gt;&quot;">✖ invalid</span>'
    )
    assert ">✔ signed<" in verification_badge(Verification(status="valid", reason=""))


def test_it_shortens_stix_ids_and_leaves_other_text_alone() -> None:
    assert short_id(STIX_ID) == "indicator--6f1d8a2e…"
    assert short_id("not an id") == "not an id"


def test_it_tells_stix_ids_from_other_text() -> None:
    assert is_stix_id(STIX_ID)
    assert is_stix_id("x-custom-thing--6F1D8A2E-3C1B-4D8E-9A57-0B6C2F7E1A01")
    assert not is_stix_id("indicator--6f1d8a2e")
    assert not is_stix_id(f"{STIX_ID} and more")
    assert not is_stix_id("Indicator--6f1d8a2e-3c1b-4d8e-9a57-0b6c2f7e1a01")


def test_it_looks_a_key_up_or_shows_the_key_itself() -> None:
    assert get_item({"network": "Network ranges"}, "network") == "Network ranges"
    assert get_item({}, "payment") == "payment"


def test_it_is_loadable_in_a_template() -> None:
    template = Template("{% load console %}{% tlp_badge level %} {{ id|short_id }}")
    rendered = template.render(Context({"level": "red", "id": STIX_ID}))
    assert rendered == '<span class="badge tlp tlp-red">TLP:RED</span> indicator--6f1d8a2e…'
