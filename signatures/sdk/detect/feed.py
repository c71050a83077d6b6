"""Keep a detector current with the exchange's feed: TAXII polling and webhook push.

``FeedSync`` reads every collection the token may read over TAXII 2.1 (taxii2-client, all
pages, then ``added_after`` on each later poll) and, when asked, also receives a webhook
subscription's pushes on a local port, so that a new indicator applies within seconds. Every
indicator is checked before the detector sees it (docs/detection.md, "The feed"):

- its publisher's signature must verify (``jss.Verifier`` over the members' JWK Sets from
  ``/api/v1/members/<identity>/jwks.json``, docs/signing.md section 4), else it is skipped
  with the verifier's reason;
- a revoked version drops it, and so does the passing of its ``valid_until``;
- an older version than the one loaded is ignored (pushes may repeat or come late).

The detector is shared between the thread that feeds it events and the threads that update
it, so every call into it goes through this object's lock: a gateway calls
``FeedSync.observe`` rather than the detector's own.
"""

from __future__ import annotations

import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final, TextIO

import requests
from taxii2client.v21 import Server, as_pages

from signatures.sdk import jss, strict_json, webhook_signing
from signatures.sdk.constants import FORUM_IDENTITY_ID, TLP1_TO_TLP2, TLP2_LEVELS
from signatures.sdk.detect.engine import Detector, LoadResult, Match
from signatures.sdk.detect.events import TelemetryEvent

__all__ = ["Applied", "FeedError", "FeedSync", "WebhookReceiver", "indicator_tlp"]

#: Objects asked for per TAXII page; the server may answer fewer (TAXII 2.1 section 3.4).
PAGE_SIZE: Final = 1000
#: Seconds to wait for one HTTP answer from the exchange.
HTTP_TIMEOUT: Final = 30.0
#: The collection list is read again this often, so newly granted collections are followed.
DISCOVERY_EVERY_S: Final = 60.0
#: Unmarked objects are shared as TLP:AMBER (docs/sharing-policy.md), so they are read so.
UNMARKED_TLP: Final = "amber"

_TIMESTAMP: Final = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z", re.ASCII)


class FeedError(Exception):
    """The exchange could not be read (the message says why)."""


@dataclass(frozen=True, slots=True)
class Applied:
    """What became of one indicator from the feed: ``loaded`` (``compiled`` or
    ``fallback``), ``dropped`` or ``skipped``, and why."""

    indicator_id: str
    action: str
    reason: str


def _instant(text: Any) -> str | None:
    """A STIX timestamp as a string that sorts by instant (fraction padded to 9 digits)."""
    match = _TIMESTAMP.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    return f"{match[1]}.{(match[2] or '').ljust(9, '0')}"


def _now_instant() -> str:
    return _instant(jss.format_timestamp(datetime.now(UTC))) or ""


def indicator_tlp(obj: Mapping[str, Any]) -> str:
    """The TLP 2.0 level of an object's markings (TLP 1.0 ids read as TLP 2.0), the most
    restrictive one if several; unmarked is TLP:AMBER."""
    refs = obj.get("object_marking_refs")
    markings = [
        TLP1_TO_TLP2.get(ref, ref)
        for ref in (refs if isinstance(refs, list) else ())
        if isinstance(ref, str)
    ]
    ranks = list(TLP2_LEVELS.values())
    levels = [TLP2_LEVELS[marking] for marking in markings if marking in TLP2_LEVELS]
    return max(levels, key=ranks.index) if levels else UNMARKED_TLP


class _Bearer(requests.auth.AuthBase):
    """Bearer authentication that also remembers ``X-TAXII-Date-Added-Last`` of the latest
    answer: the ``added_after`` of the next poll (TAXII 2.1 section 3.4.2), which
    taxii2-client reads but does not return."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.date_added_last: str | None = None

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        request.register_hook("response", self._remember)  # type: ignore[no-untyped-call]
        return request

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.date_added_last = response.headers.get("X-TAXII-Date-Added-Last")


@dataclass
class FeedSync:
    """The exchange at ``url`` (its site root), read with ``token``, kept in ``detector``.

    ``log`` receives one line per indicator skipped or dropped and per feed problem.
    """

    detector: Detector
    url: str
    token: str
    log: TextIO = field(default_factory=lambda: sys.stderr)
    session: requests.Session = field(default_factory=requests.Session)
    lock: AbstractContextManager[Any] = field(default_factory=threading.RLock)
    #: Collection URL -> the ``added_after`` of its next poll.
    cursors: dict[str, str] = field(default_factory=dict)
    #: Indicator id -> the newest version applied (loaded or dropped), as an instant.
    _versions: dict[str, str] = field(default_factory=dict)
    #: Indicator id -> its valid_until (None: open-ended), for those the detector holds.
    _active: dict[str, str | None] = field(default_factory=dict)
    _jwks: dict[str, Any] = field(default_factory=dict)
    _auth: _Bearer | None = None
    _server: Server | None = None
    _collections: list[Any] = field(default_factory=list)
    _discovered_at: float = float("-inf")
    _applying: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _poller: threading.Thread | None = None

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        self.session.headers["Authorization"] = f"Bearer {self.token}"

    # --- reading the feed --------------------------------------------------------------------

    def sync(self) -> list[Applied]:
        """One poll: every readable collection, every page added since the last poll."""
        if time.monotonic() - self._discovered_at > DISCOVERY_EVERY_S:
            self._discover()
        assert self._auth is not None
        applied: list[Applied] = []
        try:
            for collection in self._collections:
                cursor = self.cursors.get(collection.url)
                filters = {"added_after": cursor} if cursor else {}
                self._auth.date_added_last = None
                for envelope in as_pages(collection.get_objects, PAGE_SIZE, **filters):
                    applied += self.apply(envelope.get("objects", []))
                    if self._auth.date_added_last:  # absent on an empty page
                        self.cursors[collection.url] = self._auth.date_added_last
                    self._auth.date_added_last = None
        except (requests.RequestException, ValueError) as exc:
            raise FeedError(f"cannot read the TAXII feed at {self.url}: {exc}") from exc
        self.expire()
        return applied

    def _discover(self) -> None:
        self.close()
        self._auth = _Bearer(self.token)
        try:
            self._server = Server(f"{self.url}/taxii2/", auth=self._auth)
            self._collections = [
                collection
                for api_root in self._server.api_roots
                for collection in api_root.collections
                if collection.can_read
            ]
        except (requests.RequestException, ValueError) as exc:
            raise FeedError(f"cannot discover the TAXII server at {self.url}: {exc}") from exc
        self._discovered_at = time.monotonic()

    def start(self, interval: float) -> None:
        """Poll every ``interval`` seconds in a background thread until :meth:`stop`."""

        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    self.sync()
                except FeedError as exc:
                    self.log.write(f"isac-detect: {exc}; retrying\n")

        self._poller = threading.Thread(target=run, name="isac-detect-poll", daemon=True)
        self._poller.start()

    def stop(self) -> None:
        """Stop polling and close the connections to the exchange."""
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=HTTP_TIMEOUT)
        self.close()
        self.session.close()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    # --- applying objects --------------------------------------------------------------------

    def apply(self, objects: Sequence[Any]) -> list[Applied]:
        """Verify and load (or drop) the indicators among ``objects``; others are ignored."""
        applied = []
        for obj in objects:
            if isinstance(obj, Mapping) and obj.get("type") == "indicator":
                # Polling and pushes may bring the same indicator at once: one at a time.
                with self._applying:
                    result = self._apply_one(obj)
                if result is not None:
                    applied.append(result)
                    if result.action != "loaded":
                        self.log.write(f"{result.indicator_id}: {result.action}: {result.reason}\n")
        return applied

    def _apply_one(self, obj: Mapping[str, Any]) -> Applied | None:
        indicator_id = str(obj.get("id"))
        version = _instant(obj.get("modified")) or ""
        seen = self._versions.get(indicator_id)
        if seen is not None and seen >= version:
            return None  # a repeat, or an older version arriving late: never resurrects
        report = self._verify(obj)
        if not report.valid:
            # A version that does not verify never replaces one that did.
            return Applied(indicator_id, "skipped", f"signature: {report.reason}")
        self._versions[indicator_id] = version
        if obj.get("revoked") is True:
            return self._drop(indicator_id, "revoked by its publisher")
        valid_until = _instant(obj.get("valid_until"))
        if valid_until is not None and valid_until <= _now_instant():
            return self._drop(indicator_id, f"expired at {obj['valid_until']} (valid_until)")
        creator = obj.get("created_by_ref")
        publisher = creator if creator in report.signees else report.signees[0]
        with self.lock:
            result: LoadResult = self.detector.load(
                obj, publisher=publisher, tlp=indicator_tlp(obj)
            )
        if result.status == "skipped":
            self._drop(indicator_id, result.reason)
            return Applied(indicator_id, "skipped", result.reason)
        self._active[indicator_id] = valid_until
        return Applied(indicator_id, "loaded", result.status)

    def _drop(self, indicator_id: str, reason: str) -> Applied:
        with self.lock:
            self.detector.drop(indicator_id)
        self._active.pop(indicator_id, None)
        return Applied(indicator_id, "dropped", reason)

    def expire(self) -> list[Applied]:
        """Drop every loaded indicator whose ``valid_until`` has passed."""
        now = _now_instant()
        with self._applying:
            expired = [
                indicator_id
                for indicator_id, valid_until in self._active.items()
                if valid_until is not None and valid_until <= now
            ]
            return [self._drop(indicator_id, "valid_until passed") for indicator_id in expired]

    @property
    def loaded(self) -> int:
        """How many indicators the detector holds."""
        return len(self._active)

    def stats(self) -> dict[str, int]:
        """The detector's counts (compiled, fallback, ...)."""
        with self.lock:
            return self.detector.stats()

    def observe(self, event: TelemetryEvent) -> list[Match]:
        """The detector's matches for ``event``, under the lock that updates take."""
        with self.lock:
            return self.detector.observe(event)

    # --- signatures --------------------------------------------------------------------------

    def _verify(self, obj: Mapping[str, Any]) -> jss.VerificationReport:
        """Verify against the creator's and the Forum's keys; fetch them again once if the
        signature names a key not yet known (the publisher may have rotated)."""
        creator = obj.get("created_by_ref")
        signers = [FORUM_IDENTITY_ID] + ([creator] if isinstance(creator, str) else [])
        report = jss.Verifier([self._key_set(s) for s in signers]).verify(obj)
        if not report.valid and "unknown key" in report.reason:
            report = jss.Verifier([self._key_set(s, fresh=True) for s in signers]).verify(obj)
        return report

    def own_identity(self) -> str:
        """The STIX identity id of the member the token belongs to (``/api/v1/members/me/``)."""
        try:
            response = self.session.get(f"{self.url}/api/v1/members/me/", timeout=HTTP_TIMEOUT)
            response.raise_for_status()
            identity = response.json().get("identity_id")
        except (requests.RequestException, ValueError, AttributeError) as exc:
            raise FeedError(f"cannot read this token's member: {exc}") from exc
        if not isinstance(identity, str):
            raise FeedError("the exchange did not name this token's identity")
        return identity

    def _key_set(self, identity: str, *, fresh: bool = False) -> Any:
        if fresh or identity not in self._jwks:
            url = f"{self.url}/api/v1/members/{identity}/jwks.json"
            try:
                response = self.session.get(url, timeout=HTTP_TIMEOUT)
                # An identity that is not a member has no keys: its objects stay unverified.
                self._jwks[identity] = response.json() if response.ok else {"keys": []}
            except (requests.RequestException, ValueError) as exc:
                raise FeedError(f"cannot read the key set of {identity}: {exc}") from exc
        return self._jwks[identity]

    # --- webhook push ------------------------------------------------------------------------

    def subscribe(self, receiver: WebhookReceiver, *, public_url: str | None = None) -> str:
        """Create a webhook subscription for indicators that pushes to ``receiver``; return
        its id. The exchange's answer holds the signing secret, which the receiver keeps."""
        body = {
            "name": f"isac-detect {uuid.uuid4().hex[:8]}",
            "channel": "webhook",
            "url": public_url or receiver.url,
            "object_types": ["indicator"],
            "max_wait_ms": 0,
        }
        try:
            response = self.session.post(
                f"{self.url}/api/v1/subscriptions/", json=body, timeout=HTTP_TIMEOUT
            )
        except requests.RequestException as exc:
            raise FeedError(f"cannot create the webhook subscription: {exc}") from exc
        if response.status_code != 201:
            raise FeedError(
                f"the exchange refused the webhook subscription ({response.status_code}): "
                f"{response.text[:300]}"
            )
        created = response.json()
        receiver.secret = created["secret"]
        return str(created["id"])

    def unsubscribe(self, subscription_id: str) -> None:
        try:
            self.session.delete(
                f"{self.url}/api/v1/subscriptions/{subscription_id}/", timeout=HTTP_TIMEOUT
            )
        except requests.RequestException as exc:
            self.log.write(f"isac-detect: could not delete subscription {subscription_id}: {exc}\n")


class WebhookReceiver:
    """An ``http.server`` on a local port that takes the exchange's signed pushes and hands
    their objects to ``feed.apply``. A request whose HMAC does not verify (docs/fanout.md,
    ``signatures.sdk.webhook_signing``) is answered 401 and changes nothing; a delivery seen before
    (``X-ISAC-Delivery-Id``) is acknowledged and not applied again."""

    def __init__(self, feed: FeedSync, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.feed = feed
        self.secret = ""
        self.on_apply: Callable[[list[Applied]], None] | None = None
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="isac-detect-webhook", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def receive(self, headers: Message, body: bytes) -> int:
        """Handle one push; return the HTTP status to answer."""
        try:
            webhook_signing.signature_verify(
                self.secret, headers.get(webhook_signing.SIGNATURE_HEADER, ""), body
            )
        except webhook_signing.SignatureInvalid:
            return 401
        try:
            objects = strict_json.loads(body).get("objects", [])
        except (ValueError, AttributeError):
            return 400
        delivery = headers.get(webhook_signing.DELIVERY_HEADER, "")
        with self._lock:
            if delivery and delivery in self._seen:
                return 204
            applied = self.feed.apply(objects if isinstance(objects, list) else [])
            if delivery:
                self._seen.add(delivery)
        if self.on_apply is not None:
            self.on_apply(applied)
        return 204

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver.receive(self.headers, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # one line per push would drown the match output's diagnostics

        return Handler
