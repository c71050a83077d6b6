"""The console driven in headless Chromium against the live exchange.

An analyst logs in, releases a signature, a partner reads it over TAXII 2.1 with
taxii2-client, the analyst revokes it (after its confirmation page) and finds the revocation
in the audit log. Another analyst searches the queue by an address inside a range, sorts it
by a column, releases two rows in one bulk action and retires one after confirming, and the
partner reads the result over TAXII. Screenshots of every page at 1440 and 1024 px wide are
saved under test-artifacts/console/.

Without chromium these tests skip, except under CI (the CI variable set), where they fail:
CI must prove them.
"""

from __future__ import annotations

import base64
import io
import ipaddress
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from taxii2client.v21 import Collection as TaxiiCollection

from exchange.console.selectors import partner_feed
from members.models import ApiToken, Member
from signatures.models import StixObject
from tests.exchange.console.conftest import PASSWORD
from tests.factories import token_for

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "console"

# serialized_rollback: the default collection and the console's groups come from data
# migrations, which a transactional test's flush would otherwise remove for later tests.
pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _browser_missing() -> str | None:
    for binary in (CHROMIUM, CHROMEDRIVER):
        if not binary.exists():
            return f"{binary} is not installed (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    missing = _browser_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests: {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1440,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


WIDTHS = (1440, 1024)


def _screenshot(driver: Any, name: str) -> list[Path]:
    """Full-page screenshots at 1440 and 1024 px wide, ``<name>-<width>.png``."""
    paths = []
    for width in WIDTHS:
        driver.set_window_size(width, 1000)
        paths.append(_capture(driver, f"{name}-{width}"))
    driver.set_window_size(WIDTHS[0], 1000)
    return paths


def _capture(driver: Any, name: str) -> Path:
    """A full-page screenshot, through the DevTools protocol (beyond the viewport)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
    )
    path = ARTIFACTS / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def _wait_text(driver: Any, css: str, text: str) -> str:
    """Wait for the page after a form post to show ``text`` in ``css``; its full text."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    located = (By.CSS_SELECTOR, css)
    WebDriverWait(driver, 10).until(
        expected_conditions.text_to_be_present_in_element(located, text)
    )
    return str(driver.find_element(*located).text)


def _choose(driver: Any, name: str, value: str) -> None:
    """Pick a filter value and wait for the filtered page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    Select(driver.find_element(By.NAME, name)).select_by_value(value)
    WebDriverWait(driver, 10).until(lambda d: f"{name}={value}" in d.current_url)


@pytest.fixture
def demo(forum: Member) -> dict[str, Member]:
    """The demo campaign: three labs' slices and a partner (seed_demo, as on a laptop)."""
    call_command("seed_demo", stdout=io.StringIO(), stderr=io.StringIO())
    return {m.name: m for m in Member.objects.all()}


def test_it_releases_and_revokes_through_the_console(
    browser: Any, live_server: Any, settings: Any, analyst: User, demo: dict[str, Member]
) -> None:
    from selenium.webdriver.common.by import By

    settings.SITE_URL = live_server.url
    base = str(live_server.url)
    aurora = demo["lab-aurora"]
    target = (
        StixObject.objects.filter(
            type="indicator", publisher=aurora, data__pattern__icontains="ipv4-addr"
        )
        .order_by("stix_id")
        .first()
    )
    assert target is not None

    # Strangers are sent to the login page; the analyst signs in.
    browser.get(f"{base}/console/")
    assert "/console/login/" in browser.current_url
    browser.find_element(By.ID, "id_username").send_keys(analyst.username)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "Triage queue"
    rows = browser.find_elements(By.CSS_SELECTOR, "#queue tbody tr[data-stix-id]")
    assert len(rows) >= 10
    assert "IPv4 in" in browser.find_element(By.ID, "queue").text
    _screenshot(browser, "queue")

    # Filter to the lab's network signatures and open the target from the queue.
    # (Choosing a value applies the filter at once.)
    _choose(browser, "lab", "lab-aurora")
    _choose(browser, "kind", "network")
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-stix-id="{target.stix_id}"]')
    row.find_element(By.CSS_SELECTOR, "td.summary a").click()
    assert target.stix_id in browser.find_element(By.CSS_SELECTOR, ".page-head").text

    # Release it to partners.
    browser.find_element(By.ID, "act-release").click()
    _wait_text(browser, ".messages", "Released to partners")
    assert "Released to partners" in browser.find_element(By.CSS_SELECTOR, ".badges").text
    _screenshot(browser, "detail")

    # The partner reads it from the partner feed over TAXII 2.1.
    partner = demo["sentinel-detect"]
    feed = partner_feed()
    assert feed is not None
    taxii = TaxiiCollection(
        f"{base}/{feed.api_root}/collections/{feed.pk}/",
        user=partner.name,
        password=token_for(partner, "read"),
    )
    try:
        served = taxii.get_objects().get("objects", [])
        assert [obj["id"] for obj in served] == [target.stix_id]

        # Revoke it on the publisher's behalf, with a reason: its own form, then a page
        # that says what will happen before anything does.
        reason = "Range reassigned to a university; not the farm any more."
        browser.find_element(By.CSS_SELECTOR, "#form-revoke textarea[name=reason]").send_keys(
            reason
        )
        browser.find_element(By.ID, "act-revoke").click()
        consequences = _wait_text(browser, "#consequences", "opinion of strongly-disagree")
        assert "partners no longer get it" in consequences
        assert taxii.get_objects().get("objects", [])  # nothing happened yet
        _screenshot(browser, "confirm-revoke")
        browser.find_element(By.ID, "confirm-button").click()
        _wait_text(browser, ".messages", "Revoked")
        assert "Retired" in browser.find_element(By.CSS_SELECTOR, ".badges").text

        # Partners lose the object and get the Forum's signed revocation opinion.
        served = taxii.get_objects().get("objects", [])
    finally:
        taxii.close()
    assert [obj["type"] for obj in served] == ["opinion"]
    assert served[0]["object_refs"] == [target.stix_id]
    assert served[0]["explanation"] == reason

    # The audit log shows who revoked what, and why.
    browser.find_element(By.LINK_TEXT, "Audit log").click()
    _choose(browser, "action", "object-revoke")
    audit = _wait_text(browser, "#audit", reason)
    assert analyst.username in audit and target.stix_id in audit and reason in audit
    assert "state: released" in audit and "state: retired" in audit
    _screenshot(browser, "audit")

    browser.find_element(By.LINK_TEXT, "Dashboard").click()
    assert browser.find_elements(By.CSS_SELECTOR, "svg.chart rect")
    _screenshot(browser, "dashboard")


def test_it_keeps_partner_users_out_of_the_console(
    browser: Any, live_server: Any, partner: Member, make_user: Any
) -> None:
    from selenium.webdriver.common.by import By

    outsider = make_user("pat", partner, staff=True)
    browser.get(f"{live_server.url}/console/login/")
    browser.find_element(By.ID, "id_username").send_keys(outsider.username)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert "cannot use the analyst console" in browser.find_element(By.ID, "login-error").text
    browser.get(f"{live_server.url}/console/dashboard/")
    assert "/console/login/" in browser.current_url


def test_it_issues_a_token_shown_once_in_the_browser(
    browser: Any, live_server: Any, admin_user: User, demo: dict[str, Member]
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{live_server.url}/console/login/?next=/console/members/")
    browser.find_element(By.ID, "id_username").send_keys(admin_user.username)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "Members & access"
    _screenshot(browser, "members")

    section = browser.find_element(By.ID, "member-sentinel-detect")
    section.find_element(By.XPATH, ".//summary[text()='Issue a token']").click()
    section.find_element(By.NAME, "name").send_keys("siem")
    section.find_element(By.CSS_SELECTOR, "input[name=scopes][value=read]").click()
    section.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    raw = _wait_text(browser, "#raw-token", "isac_")
    assert ApiToken.objects.get(name="siem").token_hash == ApiToken.hash(raw)

    # Back on the members page (and after a reload) the value is gone for good.
    browser.find_element(By.LINK_TEXT, "Done").click()
    assert "Members & access" in browser.find_element(By.TAG_NAME, "h1").text
    assert raw not in browser.page_source
    browser.back()
    assert raw not in browser.page_source


def _sign_in(browser: Any, base: str, user: User, next_url: str = "/console/") -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{base}/console/login/?next={next_url}")
    browser.find_element(By.ID, "id_username").send_keys(user.username)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # Until the post answers, a get() can race it and the redirect to next_url wins.
    WebDriverWait(browser, 10).until(lambda driver: "/console/login/" not in driver.current_url)


def test_it_searches_sorts_releases_in_bulk_and_retires_after_confirming(
    browser: Any, live_server: Any, settings: Any, analyst: User, demo: dict[str, Member]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    settings.SITE_URL = live_server.url
    base = str(live_server.url)
    aurora = demo["lab-aurora"]
    ranges = [
        obj
        for obj in StixObject.objects.filter(
            type="indicator", publisher=aurora, data__pattern__icontains="ISSUBSET"
        ).order_by("stix_id")
        if obj.tlp in ("clear", "green", "amber")
    ]
    assert ranges, "the demo has lab-aurora egress ranges"
    target = ranges[0]
    network = ipaddress.ip_network(
        target.data["pattern"].split("'")[1], strict=False
    )  # e.g. [ipv4-addr:value ISSUBSET '203.0.113.0/24']
    inside = str(next(network.hosts()))

    _sign_in(browser, base, analyst)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Triage queue"

    # Search by an address inside the range: the range's indicator is found.
    box = browser.find_element(By.ID, "id_q")
    box.send_keys(inside)
    box.submit()
    WebDriverWait(browser, 10).until(lambda d: f"q={inside}" in d.current_url)
    found = [
        row.get_attribute("data-stix-id")
        for row in browser.find_elements(By.CSS_SELECTOR, "#queue tbody tr[data-stix-id]")
    ]
    assert target.stix_id in found
    _screenshot(browser, "queue-search")

    # Sort by confidence, biggest first, by clicking the column header: the URL says so,
    # and the column reads in order.
    browser.get(f"{base}/console/?lab=lab-aurora")
    browser.find_element(By.ID, "sort-confidence").click()
    WebDriverWait(browser, 10).until(lambda d: "sort=-confidence" in d.current_url)
    assert "lab=lab-aurora" in browser.current_url
    shown = [
        cell.text
        for cell in browser.find_elements(By.CSS_SELECTOR, "#queue tbody td.col-confidence")
    ]
    numbers = [int(text) for text in shown if text.isdigit()]
    assert numbers and numbers == sorted(numbers, reverse=True)
    assert (
        browser.find_element(By.ID, "sort-confidence")
        .find_element(By.XPATH, "..")
        .get_attribute("aria-sort")
        == "descending"
    )
    _screenshot(browser, "queue-sorted")

    # Select two ranges and release them in one action.
    chosen = [obj.stix_id for obj in ranges[:2]]
    browser.get(f"{base}/console/?lab=lab-aurora&kind=network&sort=signature")
    for stix_id in chosen:
        browser.find_element(
            By.CSS_SELECTOR, f'tr[data-stix-id="{stix_id}"] input[name=ids]'
        ).click()
    assert browser.find_element(By.ID, "bulk-count").text == f"{len(chosen)} selected"
    Select(browser.find_element(By.ID, "bulk_action")).select_by_value("release")
    browser.find_element(By.ID, "bulk_reason").send_keys("campaign wave 3")
    browser.find_element(By.ID, "bulk-apply").click()
    _wait_text(browser, ".messages", f"{len(chosen)} object(s) released to partners.")
    assert "sort=signature" in browser.current_url  # back to the same view

    partner = demo["sentinel-detect"]
    feed = partner_feed()
    assert feed is not None
    taxii = TaxiiCollection(
        f"{base}/{feed.api_root}/collections/{feed.pk}/",
        user=partner.name,
        password=token_for(partner, "read"),
    )
    try:
        served = {obj["id"] for obj in taxii.get_objects().get("objects", [])}
        assert served == set(chosen)

        # Retire one: the detail page's form leads to a page that names what will happen;
        # only its confirm button retires.
        browser.get(f"{base}/console/objects/{chosen[0]}/")
        _screenshot(browser, "detail-released")
        browser.find_element(By.CSS_SELECTOR, "#form-retire textarea[name=reason]").send_keys(
            "Range reassigned."
        )
        browser.find_element(By.ID, "act-retire").click()
        consequences = _wait_text(browser, "#consequences", "partners no longer get it")
        assert "The 1 version in the partner feed is withdrawn" in consequences
        _screenshot(browser, "confirm-retire")
        assert {obj["id"] for obj in taxii.get_objects().get("objects", [])} == set(chosen)
        browser.find_element(By.ID, "confirm-button").click()
        _wait_text(browser, ".messages", "Retired")

        served = {obj["id"] for obj in taxii.get_objects().get("objects", [])}
    finally:
        taxii.close()
    assert served == {chosen[1]}


def test_it_shows_every_admin_page_and_the_styled_403(
    browser: Any, live_server: Any, admin_user: User, analyst: User, demo: dict[str, Member]
) -> None:
    from selenium.webdriver.common.by import By

    base = str(live_server.url)
    _sign_in(browser, base, admin_user)
    for name, path in (
        ("collections", "/console/collections/"),
        ("subscriptions", "/console/subscriptions/"),
        ("dashboard-admin", "/console/dashboard/"),
    ):
        browser.get(f"{base}{path}")
        assert browser.find_element(By.TAG_NAME, "h1").text
        _screenshot(browser, name)
    browser.get(f"{base}/console/subscriptions/replay/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Confirm: Replay all dead letters"
    _screenshot(browser, "confirm-replay")

    browser.delete_all_cookies()
    _sign_in(browser, base, analyst)
    browser.get(f"{base}/console/members/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "You may not open this page"
    assert (
        browser.find_element(By.CSS_SELECTOR, "link[rel=icon]")
        .get_attribute("href")
        .endswith("/static/console/favicon.svg")
    )
    _screenshot(browser, "forbidden")
