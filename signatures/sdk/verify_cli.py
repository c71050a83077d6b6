"""``isac-verify``: check member signatures (X.590 JSS) on STIX content from the command line.

Reads a STIX bundle, a TAXII 2.1 envelope, a single object or JSON Lines from a file or standard
input, verifies every object against one or more JWK Sets (files or http(s) URLs, or with
``--exchange URL`` the exchange's set of every member's keys) and prints one line per object and
a summary. With ``--detached-jws`` it also checks the exchange's transport
signature (the ``X-ISAC-JWS-Signature`` response header) over the exact input bytes.

An extension-definition is verified through the signature note in the same input that names
it, and the official OASIS TLP 2.0 objects are checked by value (docs/signing.md section 12).

An object signed with a key that is in none of the sets given is **unverified**, not invalid:
nothing says it was changed, only that these keys cannot check it.

Exit status: 0 when every object verifies (or is unsigned, unless ``--require-signatures``), 1
when something is invalid (or unsigned with ``--require-signatures``, or the detached JWS
fails), 3 when nothing is invalid but something is unverified, 2 for usage, input or key-set
errors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import requests

from signatures.sdk import strict_json
from signatures.sdk.jss import JWSError, VerificationReport, Verifier

#: Seconds to wait for a key set served over HTTP.
JWKS_TIMEOUT = 30

#: Where an exchange serves every member's keys, under its base URL (docs/api.md).
EXCHANGE_JWKS_PATH = "/api/v1/jwks.json"

#: Exit statuses (docs/signing.md section 9).
EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_UNVERIFIED = 0, 1, 2, 3


class UsageError(Exception):
    """A problem with the command line, the input or the key sets (exit status 2)."""


def _loads(text: str) -> Any:
    try:
        return strict_json.loads(text)
    except strict_json.NotIJSON as exc:
        raise UsageError(str(exc)) from exc


def parse_objects(data: bytes) -> list[Any]:
    """The STIX objects in ``data``: a bundle, a TAXII envelope, one object or JSON Lines."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"input is not UTF-8: {exc}") from exc
    try:
        document = _loads(text)
    except json.JSONDecodeError as exc:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        if len(lines) < 2:
            raise UsageError(f"input is not JSON: {exc}") from exc
        objects = []
        for number, line in lines:
            try:
                objects.append(_loads(line))
            except json.JSONDecodeError as line_exc:
                raise UsageError(
                    f"input is neither JSON nor JSON Lines (line {number}: {line_exc})"
                ) from line_exc
        return objects
    if not isinstance(document, dict):
        raise UsageError("input must be a STIX bundle, a TAXII envelope or a STIX object")
    is_envelope = "type" not in document and ("objects" in document or "more" in document)
    if document.get("type") == "bundle" or is_envelope:
        # TAXII 2.1 section 3.7: an envelope may leave out "objects" when it holds none.
        objects = document.get("objects", [])
        if not isinstance(objects, list):
            raise UsageError("'objects' must be a list")
        return objects
    return [document]


def load_jwks(source: str, token: str | None) -> Any:
    """Read one JWK Set from a file path or an http(s) URL (with ``token`` as Bearer)."""
    try:
        if source.startswith(("http://", "https://")):
            headers = {"Accept": "application/json"}
            if token:
                if source.startswith("http://"):
                    print(
                        f"warning: sending the token to {source} over plain HTTP", file=sys.stderr
                    )
                headers["Authorization"] = f"Bearer {token}"
            response = requests.get(source, headers=headers, timeout=JWKS_TIMEOUT)
            response.raise_for_status()
            return response.json()
        return json.loads(Path(source).read_bytes())
    except (OSError, ValueError, requests.RequestException) as exc:
        raise UsageError(f"cannot read the JWK Set {source!r}: {exc}") from exc


def exchange_jwks_url(base: str) -> str:
    """The exchange-wide JWK Set under the exchange's base URL (``https://host``)."""
    if not base.startswith(("http://", "https://")):
        raise UsageError(f"--exchange {base!r} is not an http(s) URL")
    return base.rstrip("/") + EXCHANGE_JWKS_PATH


def verdict(report: VerificationReport, known: frozenset[str]) -> str:
    """``report``'s status, with ``unverified`` for an object that fails only because its
    signatures are by keys outside the sets given (``known`` thumbprints): that says nothing
    about the object, only that these keys cannot check it."""
    if report.status != "invalid":
        return report.status
    failed = [entry for entry in report.entries if not entry.valid]
    if failed and all(e.thumbprint is not None and e.thumbprint not in known for e in failed):
        return "unverified"
    return "invalid"


def describe(report: VerificationReport, status: str | None = None) -> str:
    """The verdict part of an object's output line."""
    status = status or report.status
    if status == "valid":
        signers = "; ".join(
            f"{e.signee}, key {e.thumbprint}" if e.thumbprint else e.reason for e in report.entries
        )
        return f"valid ({signers})"
    if status == "unverified":
        return f"unverified: {report.reason} (not in the key sets given)"
    if status == "invalid":
        return f"invalid: {report.reason}"
    if status == "official":
        return "official (OASIS content, checked by value)"
    return "unsigned"


def _label(obj: Any) -> str:
    """``<id> <modified-or-created-or->`` for an output line."""
    if not isinstance(obj, dict):
        return "- -"
    version = obj.get("modified") or obj.get("created") or "-"
    return f"{obj.get('id') or '-'} {version}"


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="isac-verify",
        description="Verify AI-ISAC member signatures (X.590 JSS) on STIX 2.1 content.",
        epilog="Exit status: 0 all good, 1 something invalid (or unsigned with "
        "--require-signatures), 3 nothing invalid but something unverified (signed with a key "
        "in none of the sets given), 2 usage or input errors.",
    )
    parser.add_argument(
        "input",
        metavar="INPUT",
        help="file with a STIX bundle, TAXII envelope, object or JSON Lines; '-' for stdin",
    )
    parser.add_argument(
        "--exchange",
        metavar="URL",
        help=f"the exchange's base URL: reads every member's keys from URL{EXCHANGE_JWKS_PATH}",
    )
    parser.add_argument(
        "--jwks",
        action="append",
        default=[],
        metavar="FILE_OR_URL",
        help="JWK Set of the signers' keys; repeat for several (with or instead of --exchange)",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("ISAC_TOKEN"),
        help="Bearer token for JWK Sets fetched over HTTP (default: $ISAC_TOKEN)",
    )
    parser.add_argument(
        "--require-signatures",
        action="store_true",
        help="treat unsigned objects as a failure",
    )
    parser.add_argument(
        "--detached-jws",
        metavar="HEADER_VALUE",
        help="X-ISAC-JWS-Signature value to verify over the exact INPUT bytes",
    )
    return parser


def _run(args: argparse.Namespace) -> int:
    sources = list(args.jwks)
    if args.exchange:
        sources.insert(0, exchange_jwks_url(args.exchange))
    if not sources:
        raise UsageError("give the keys to verify with: --exchange URL or --jwks FILE_OR_URL")
    try:
        verifier = Verifier([load_jwks(source, args.token) for source in sources])
    except ValueError as exc:  # a key set that is not {"keys": [...]}
        raise UsageError(f"malformed JWK Set: {exc}") from exc
    for note in verifier.ignored:
        print(f"warning: {note}", file=sys.stderr)
    if not verifier.thumbprints:
        raise UsageError("the JWK Sets hold no usable Ed25519 key")
    try:
        data = sys.stdin.buffer.read() if args.input == "-" else Path(args.input).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.input!r}: {exc}") from exc

    # Parse before any output, so an unreadable input fails alone with status 2.
    objects = parse_objects(data)
    failed = False
    if args.detached_jws is not None:
        try:
            kid = verifier.verify_jws(data, args.detached_jws)
        except JWSError as exc:
            print(f"detached JWS: invalid: {exc}")
            failed = True
        else:
            print(f"detached JWS: valid (key {kid})")

    counts = {"valid": 0, "invalid": 0, "unverified": 0, "unsigned": 0, "official": 0}
    known = verifier.thumbprints
    # Together: an extension-definition's signature is a note elsewhere in the input.
    for obj, report in zip(objects, verifier.verify_all(objects), strict=True):
        status = verdict(report, known)
        counts[status] += 1
        print(f"{_label(obj)} {describe(report, status)}")
    print(
        f"{len(objects)} objects: {counts['valid']} valid, {counts['invalid']} invalid, "
        f"{counts['unverified']} unverified, {counts['unsigned']} unsigned, "
        f"{counts['official']} official"
    )
    failed = failed or counts["invalid"] > 0
    failed = failed or (args.require_signatures and counts["unsigned"] > 0)
    if failed:
        return EXIT_INVALID
    return EXIT_UNVERIFIED if counts["unverified"] else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``isac-verify``; returns the exit status."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits itself: 2 on usage errors, 0 for --help
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return _run(args)
    except UsageError as exc:
        print(f"isac-verify: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
