"""Browser security on every HTML page, and HTTPS settings from the environment."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import drf_spectacular
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from exchange.security_headers import CONTENT_SECURITY_POLICY, SWAGGER_UI_STYLE_HASH
from tests.exchange.console import test_browser as console_browser

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def _directives(policy: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


def _assert_protected(response: object, url: str) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, url
    assert headers["X-Content-Type-Options"] == "nosniff", url
    assert headers["Referrer-Policy"] == "same-origin", url
    assert headers["X-Frame-Options"] == "DENY", url
    body = response.content.decode()  # type: ignore[attr-defined]
    # The policy allows no inline script, so the page must not need any.
    inline = [attrs for attrs in SCRIPT_TAG.findall(body) if "src=" not in attrs]
    assert inline == [], url


def test_the_policy_forbids_inline_script_framing_and_foreign_origins() -> None:
    policy = _directives(CONTENT_SECURITY_POLICY)
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert "unsafe-inline" not in policy["style-src"]


@pytest.mark.parametrize(
    "url", ["/console/login/", "/admin/login/", "/api/docs/", "/no-such-page/x/", "/api/v1/"]
)
def test_it_protects_every_page_a_stranger_can_open(db: None, url: str) -> None:
    _assert_protected(Client().get(url), url)


@pytest.mark.parametrize(
    "url", ["/console/", "/console/audit/", "/admin/", "/admin/members/apitoken/"]
)
def test_it_protects_pages_behind_the_login(admin_client_forum: Client, url: str) -> None:
    response = admin_client_forum.get(url)
    assert response.status_code == 200, url
    _assert_protected(response, url)


@pytest.fixture
def admin_client_forum(forum: object) -> Client:
    from members.models import Member, Membership

    user = User.objects.create_superuser("operator", password="x" * 20)
    Membership.objects.create(user=user, member=Member.objects.get(kind="forum"))
    client = Client()
    client.force_login(user)
    return client


def test_the_docs_start_up_script_is_a_file_of_this_origin(db: None) -> None:
    page = Client().get("/api/docs/").content.decode()
    sources = [re.search(r'src="([^"]+)"', attrs) for attrs in SCRIPT_TAG.findall(page)]
    urls = [match.group(1) for match in sources if match]
    assert urls and all(url.startswith("/") and not url.startswith("//") for url in urls)
    script = Client().get(next(url for url in urls if "script=" in url))
    assert script.status_code == 200
    assert b"SwaggerUIBundle" in script.content


def test_the_allowed_style_hash_is_the_installed_swagger_templates() -> None:
    template = (
        Path(drf_spectacular.__file__).parent / "templates/drf_spectacular/swagger_ui.html"
    ).read_text()
    (style,) = re.findall(r"<style>(.*?)</style>", template, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"'sha256-{digest}'" == SWAGGER_UI_STYLE_HASH


# --- HTTPS settings from the environment ------------------------------------------------------

#: The production values README.md documents for a deployment behind a TLS proxy.
PRODUCTION = {
    "DEBUG": "false",
    "ALLOWED_HOSTS": "exchange.example.org",
    "SECURE_SSL_REDIRECT": "true",
    "SESSION_COOKIE_SECURE": "true",
    "CSRF_COOKIE_SECURE": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
}


def _check_deploy(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATA_DIR": settings.DATA_DIR.as_posix(),
        **extra,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        env=env,
    )


def _security_issues(result: subprocess.CompletedProcess[str]) -> set[str]:
    return set(re.findall(r"\((security\.[EW]\d+)\)", result.stdout + result.stderr))


def test_check_deploy_is_clean_with_the_documented_production_variables() -> None:
    result = _check_deploy(PRODUCTION)
    assert result.returncode == 0, result.stderr
    # Not a single warning, the API schema's included (exchange/api/schema.py).
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_check_deploy_names_what_the_laptop_defaults_leave_off() -> None:
    result = _check_deploy({})
    assert result.returncode == 0, result.stderr
    assert _security_issues(result) == {
        "security.W004",
        "security.W008",
        "security.W012",
        "security.W016",
    }


def test_it_reads_the_proxy_header_and_refuses_a_malformed_one() -> None:
    probe = "import exchange.settings as s; print(s.SECURE_PROXY_SSL_HEADER)"
    env = {"PATH": "/usr/bin:/bin", "DATA_DIR": settings.DATA_DIR.as_posix()}
    ok = subprocess.run(
        [sys.executable, "-c", probe],
        env={**env, "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto"},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
    )
    assert ok.stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https')"
    bad = subprocess.run(
        [sys.executable, "-c", probe],
        env={**env, "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto: https"},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "is not a header name" in bad.stderr


def test_it_redirects_to_https_and_sends_hsts_behind_the_proxy(db: None, settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client = Client()
    plain = client.get("/console/login/")
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/console/login/"
    proxied = client.get("/console/login/", headers={"X-Forwarded-Proto": "https"})
    assert proxied.status_code == 200
    assert proxied["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


# --- in a browser --------------------------------------------------------------------------

#: The console's headless Chromium fixture (skips without chromium, fails so in CI).
browser = console_browser.browser


@pytest.mark.live
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_pages_work_in_chromium_without_a_policy_violation(
    browser: Any, live_server: Any, forum: Any
) -> None:
    from selenium.webdriver.common.by import By

    from members.models import Membership

    user = User.objects.create_superuser("operator", password="x" * 20)
    Membership.objects.create(user=user, member=forum)
    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys("operator")
    browser.find_element(By.NAME, "password").send_keys("x" * 20)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    browser.find_element(By.ID, "site-name")  # the admin's index, signed in
    for path in ("/admin/members/apitoken/", "/admin/signatures/collection/add/", "/console/"):
        browser.get(f"{live_server.url}{path}")
    browser.get(f"{live_server.url}/api/docs/")
    # Swagger UI rendered the schema: its start-up script ran.
    browser.find_element(By.CSS_SELECTOR, ".swagger-ui .information-container")
    violations = [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"]
    ]
    assert violations == []
