"""``isac-detect``: match a lab's own traffic against the exchange's signatures.

    isac-detect --feed URL --token TOKEN --events FILE|- [--identity ID] [--webhook-port N]

Loads every indicator the token may read from the exchange's TAXII feed (publisher
signatures verified first), keeps it current by polling and, with ``--webhook-port``, by a
webhook subscription, reads telemetry events (JSON Lines: a lab's raw events, or STIX
``observed-data``) and writes one JSON line per match to standard output. Matches are sent
back as sightings (``--no-sightings`` switches that off). Diagnostics go to standard error.
docs/detection.md describes the events, the output and every option.

Exit status: 0 when the input was read to its end, 2 for usage errors or an unreadable feed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any, TextIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from signatures.sdk import jss, strict_json
from signatures.sdk.detect.engine import Detector, Match
from signatures.sdk.detect.events import TelemetryEvent, event_from_raw, events_from_observed_data
from signatures.sdk.detect.feed import FeedError, FeedSync, WebhookReceiver
from signatures.sdk.detect.sightings import DEFAULT_WINDOW_S, SightingReporter, exchange_publisher
from signatures.sdk.normalize import format_epoch_us


class UsageError(Exception):
    """A problem with the command line or its files (exit status 2)."""


def match_record(match: Match) -> dict[str, Any]:
    """The output line of one match. ``shared`` is false for TLP:RED indicators: such a
    match is for the lab alone and is never reported back."""
    return {
        "indicator": match.indicator_id,
        "publisher": match.publisher,
        "tlp": match.tlp,
        "account": match.account_id,
        "events": list(match.event_ids),
        "confidence": match.confidence,
        "time": format_epoch_us(match.time_us),
        "shared": match.tlp != "red",
    }


def read_events(
    stream: TextIO, *, sharing_key: bytes | None, err: TextIO
) -> Iterator[TelemetryEvent]:
    """The events of a JSON Lines stream; a line that is not an event is reported and
    skipped, so one bad record never stops detection."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            record = strict_json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            if record.get("type") == "observed-data":
                yield from events_from_observed_data(record)
            elif record.get("type") == "bundle":
                for obj in record.get("objects", []):
                    if isinstance(obj, dict) and obj.get("type") == "observed-data":
                        yield from events_from_observed_data(obj)
            else:
                yield event_from_raw(record, sharing_key=sharing_key)
        except ValueError as exc:
            err.write(f"isac-detect: events line {number}: {exc}\n")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="isac-detect",
        description="Match telemetry events against the AI-ISAC exchange's signatures.",
        epilog="Exit status: 0 input read to its end, 2 usage errors or an unreadable feed.",
    )
    env = os.environ.get
    parser.add_argument("--feed", required=True, metavar="URL", help="the exchange's site URL")
    parser.add_argument(
        "--token", default=env("ISAC_TOKEN"), help="API token with read (and publish) scope"
    )
    parser.add_argument("--events", required=True, metavar="FILE", help="JSON Lines; - for stdin")
    parser.add_argument(
        "--sharing-key-file",
        metavar="FILE",
        help="the Forum sharing key that fingerprints card numbers (default: $ISAC_SHARING_KEY)",
    )
    parser.add_argument(
        "--poll", type=float, default=5.0, metavar="SECONDS", help="TAXII poll interval"
    )
    parser.add_argument(
        "--webhook-port",
        type=int,
        metavar="PORT",
        help="also receive pushes on this local port (0: any free port)",
    )
    parser.add_argument("--webhook-host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--webhook-url", help="the URL the exchange posts to, if not http://HOST:PORT/hook"
    )
    parser.add_argument(
        "--identity",
        default=env("ISAC_IDENTITY"),
        help="the lab's identity, for sightings (default: the token's, from the exchange)",
    )
    parser.add_argument("--no-sightings", action="store_true", help="report nothing back")
    parser.add_argument(
        "--sighting-tlp",
        default="green",
        choices=["clear", "green", "amber", "amber+strict"],
        help="TLP of the sightings (never below the indicator's)",
    )
    parser.add_argument("--sighting-window", type=int, default=DEFAULT_WINDOW_S, metavar="SECONDS")
    parser.add_argument(
        "--sighting-every", type=float, default=30.0, metavar="SECONDS", help="publish interval"
    )
    parser.add_argument(
        "--signing-key", metavar="PEM", help="sign sightings with this Ed25519 key (else custodial)"
    )
    return parser


def _sharing_key(args: argparse.Namespace) -> bytes | None:
    if args.sharing_key_file:
        try:
            return Path(args.sharing_key_file).read_bytes().strip()
        except OSError as exc:
            raise UsageError(f"cannot read the sharing key: {exc}") from exc
    key = os.environ.get("ISAC_SHARING_KEY")
    return key.encode() if key else None


def _reporter(args: argparse.Namespace, feed: FeedSync, err: TextIO) -> SightingReporter | None:
    if args.no_sightings:
        return None
    if not args.identity:
        # The token says whose sightings these are.
        try:
            args.identity = feed.own_identity()
        except FeedError as exc:
            raise UsageError(f"sightings need --identity (or $ISAC_IDENTITY): {exc}") from exc
    signer = None
    if args.signing_key:
        try:
            key = load_pem_private_key(Path(args.signing_key).read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read the signing key: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise UsageError("the signing key is not an Ed25519 private key")
        signer = jss.Signer(key, signee=args.identity)
    return SightingReporter(
        identity=args.identity,
        publish=exchange_publisher(args.feed, args.token),
        tlp=args.sighting_tlp,
        window_s=args.sighting_window,
        signer=signer,
        log=err,
    )


def _flush_every(reporter: SightingReporter, seconds: float, stop: threading.Event) -> None:
    """Publish grown sightings every ``seconds``, whether or not events are arriving."""
    while not stop.wait(seconds):
        reporter.flush()


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if not args.token:
        raise UsageError("no token: pass --token or set ISAC_TOKEN")
    sharing_key = _sharing_key(args)
    feed = FeedSync(Detector(), args.feed, args.token, log=err)
    reporter = _reporter(args, feed, err)
    receiver: WebhookReceiver | None = None
    subscription: str | None = None
    stop = threading.Event()
    try:
        if args.webhook_port is not None:
            receiver = WebhookReceiver(feed, host=args.webhook_host, port=args.webhook_port)
            receiver.start()
            # Subscribed before the first read, so nothing published in between is missed.
            subscription = feed.subscribe(receiver, public_url=args.webhook_url)
            err.write(f"isac-detect: webhook on {receiver.url} (subscription {subscription})\n")
        feed.sync()
        err.write(f"isac-detect: {feed.loaded} indicators, {json.dumps(feed.stats())}\n")
        feed.start(args.poll)
        if reporter is not None:
            threading.Thread(
                target=_flush_every, args=(reporter, args.sighting_every, stop), daemon=True
            ).start()
        with (
            nullcontext(sys.stdin)
            if args.events == "-"
            else Path(args.events).open(encoding="utf-8") as stream
        ):
            for event in read_events(stream, sharing_key=sharing_key, err=err):
                for match in feed.observe(event):
                    out.write(json.dumps(match_record(match), separators=(",", ":")) + "\n")
                    out.flush()
                    if reporter is not None:
                        reporter.add(match)
    except OSError as exc:
        raise UsageError(f"cannot read the events: {exc}") from exc
    finally:
        stop.set()
        feed.stop()
        if receiver is not None:
            receiver.stop()
        if subscription is not None:
            feed.unsubscribe(subscription)
        if reporter is not None:
            reporter.flush()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``isac-detect``; returns the exit status."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage error
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return run(args, sys.stdout, sys.stderr)
    except (UsageError, FeedError) as exc:
        sys.stderr.write(f"isac-detect: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
