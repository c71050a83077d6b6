"""exchange/console/charts.py: inline SVG charts, scaled to round axis maxima, every text
they embed escaped."""

from __future__ import annotations

import re
from datetime import date, timedelta
from xml.etree import ElementTree

import pytest

from exchange.console import charts

HOSTILE = '<script>alert("x")</script> & "lab"'


def svg(markup: str) -> ElementTree.Element:
    """Parse the markup as XML: a stray ``<`` or ``&`` from an unescaped text fails here."""
    return ElementTree.fromstring(markup)


def rects(markup: str) -> list[dict[str, str]]:
    return [rect.attrib for rect in svg(markup).iter("rect")]


@pytest.mark.parametrize(
    ("value", "axis"),
    [(-3, 1), (0, 1), (1, 1), (3, 5), (7, 10), (10, 10), (11, 20), (120, 200), (501, 1000)],
)
def test_it_rounds_the_axis_up_to_one_two_or_five_times_a_power_of_ten(
    value: int, axis: int
) -> None:
    assert charts._nice_max(value) == axis


def test_it_cycles_the_palette() -> None:
    assert charts.colour(0) == charts.PALETTE[0]
    assert charts.colour(len(charts.PALETTE) + 2) == charts.PALETTE[2]


def test_it_stacks_one_segment_per_series_scaled_to_the_axis() -> None:
    days = [date(2026, 11, 1) + timedelta(days=n) for n in range(3)]
    markup = charts.stacked_bars(days, {"lab-a": [2, 0, 1], "lab-b": [3, 0, 0]}, title="Per day")
    bars = rects(markup)
    assert len(bars) == 3  # a zero draws nothing
    # The tallest day (5) reaches the axis maximum (5): its segments fill the plot height.
    assert sum(float(bar["height"]) for bar in bars[:2]) == pytest.approx(260 - 28 - 12, abs=0.2)
    assert [bar["fill"] for bar in bars] == [
        charts.PALETTE[0],
        charts.PALETTE[1],
        charts.PALETTE[0],
    ]
    assert "lab-b: 3 on 01 Nov" in markup


def test_it_draws_an_empty_chart_for_no_data() -> None:
    assert rects(charts.stacked_bars([], {}, title="Nothing")) == []
    assert rects(charts.horizontal_bars([], title="Nothing")) == []


def test_it_scales_horizontal_bars_to_the_largest_value() -> None:
    markup = charts.horizontal_bars([("a", 10), ("b", 5), ("c", 0)], title="Sizes", unit=" kB")
    widths = [float(bar["width"]) for bar in rects(markup)]
    assert widths[0] == pytest.approx(2 * widths[1], abs=0.1)
    assert widths[2] == 2.0  # a zero still shows a sliver
    assert "10 kB" in markup


@pytest.mark.parametrize(("part", "whole", "shown"), [(1, 4, "25%"), (0, 0, "0%"), (3, 3, "100%")])
def test_it_shows_the_share_in_the_ring(part: int, whole: int, shown: str) -> None:
    markup = charts.ring(part, whole, title="Signed")
    assert re.search(rf">{shown}</text>", markup)
    svg(markup)


def test_it_escapes_every_text_it_embeds() -> None:
    day = [date(2026, 11, 1)]
    for markup in (
        charts.stacked_bars(day, {HOSTILE: [1]}, title=HOSTILE),
        charts.horizontal_bars([(HOSTILE, 1)], title=HOSTILE, unit=HOSTILE),
        charts.ring(1, 2, title=HOSTILE),
    ):
        assert "<script>" not in markup
        texts = "".join(svg(markup).itertext()) + svg(markup).attrib["aria-label"]
        assert "<script>" in texts  # shown as text, never as markup


def test_it_titles_the_vertical_axis_along_it() -> None:
    days = [date(2026, 11, 1)]
    markup = charts.stacked_bars(days, {"lab-a": [2]}, title="Per day", y_title="Objects <b>")
    assert 'class="axis-title"' in markup and "rotate(-90" in markup
    assert "Objects &lt;b&gt;</text>" in markup
    assert "axis-title" not in charts.stacked_bars(days, {"lab-a": [2]}, title="Per day")
