"""The console driven in headless Chromium against the live exchange.

An analyst logs in, releases a signature, a partner reads it over TAXII 2.1 with
taxii2-client, the analyst revokes it and finds the revocation in the audit log.
Screenshots of the queue, a detail page, the dashboard and the audit log are saved under
test-artifacts/console/.

Without chromium these tests skip, except under CI (the CI variable set), where they fail:
CI must prove them.
"""

from __future__ import annotations

import base64
import io
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


def _screenshot(driver: Any, name: str) -> Path:
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

        # Revoke it on the publisher's behalf, with a reason.
        browser.find_element(By.XPATH, "//summary[text()='Retire or revoke']").click()
        reason = "Range reassigned to a university; not the farm any more."
        browser.find_element(By.CSS_SELECTOR, "#form-retire textarea[name=reason]").send_keys(
            reason
        )
        browser.find_element(By.ID, "act-revoke").click()
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
