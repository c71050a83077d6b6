"""``isac-publish``: publish STIX objects to the exchange in batches, resumably.

Input is a JSONL file (one object a line), a bundle or JSON array file, or standard
input. Objects go out in bundles of ``--batch-size`` to ``<url>/api/v1/objects/``. After
each batch the server confirms, the number of confirmed input objects is written to a
state file; a rerun skips them. A batch sent but not confirmed is simply sent again:
the server answers "present" for an id and modified it already holds, so nothing is
stored twice. Exit status: 0 all accepted or present, 1 some refused or malformed,
2 usage or transport error (the state file lets a rerun continue).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO, TypedDict

import requests

USER_AGENT = "isac-publish/1.0"
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_MAX_BACKOFF_S = 30.0


class ObjectResult(TypedDict, total=False):
    """One entry of the server's ``results``, in input order."""

    id: str
    modified: str
    status: Literal["accepted", "present", "refused"]
    reason: str


class PublishError(Exception):
    """A usage or transport failure; the message is shown to the user."""

    def __init__(self, message: str, *, resumable: bool = False):
        super().__init__(message)
        #: Whether some batches may be confirmed already, so a rerun continues.
        self.resumable = resumable


@dataclass(slots=True)
class InputObject:
    #: The object's JSON text as it will be sent (a JSONL line is kept byte for byte,
    #: so signatures computed by the producer are not disturbed).
    text: str
    object_id: str
    where: str


@dataclass(slots=True)
class ParsedInput:
    objects: list[InputObject]
    #: (where, why) of each piece of input that is not a JSON object.
    malformed: list[tuple[str, str]]


@dataclass(slots=True)
class State:
    """What is confirmed so far; saved after every confirmed batch."""

    input_sha256: str
    confirmed: int = 0
    accepted: int = 0
    present: int = 0
    refused: list[dict[str, str]] = field(default_factory=list)

    def save(self, path: Path) -> None:
        # Write then rename, so an interruption never leaves half a state file.
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps({"version": 1, **asdict(self)}, indent=1))
        temporary.replace(path)

    @classmethod
    def load(cls, path: Path, input_sha256: str) -> State:
        if not path.exists():
            return cls(input_sha256=input_sha256)
        try:
            data = json.loads(path.read_text())
            state = cls(
                input_sha256=data["input_sha256"],
                confirmed=int(data["confirmed"]),
                accepted=int(data["accepted"]),
                present=int(data["present"]),
                refused=list(data["refused"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise PublishError(f"state file {path} is unreadable ({exc}); remove it") from exc
        if state.input_sha256 != input_sha256:
            raise PublishError(
                f"state file {path} belongs to different input; remove it to publish anew"
            )
        return state


def _describe(obj: Any, where: str, text: str | None = None) -> InputObject | str:
    """The object, or why it cannot be published."""
    if not isinstance(obj, dict):
        return f"not a JSON object but {type(obj).__name__}"
    object_id = obj.get("id")
    if not isinstance(object_id, str) or "--" not in object_id:
        return "has no 'type--UUID' id"
    if text is None:
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return InputObject(text=text, object_id=object_id, where=where)


def parse_input(data: bytes, name: str) -> ParsedInput:
    """Read a bundle, a JSON array, a single object, or JSONL."""
    parsed = ParsedInput(objects=[], malformed=[])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PublishError(f"{name} is not UTF-8: {exc}") from exc
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
    if isinstance(whole, dict) and whole.get("type") == "bundle":
        items = whole.get("objects")
        if not isinstance(items, list):
            raise PublishError(f"{name}: the bundle has no 'objects' list")
        entries = [(f"{name}: objects[{i}]", item) for i, item in enumerate(items)]
    elif isinstance(whole, list):
        entries = [(f"{name}: [{i}]", item) for i, item in enumerate(whole)]
    elif isinstance(whole, dict):  # a single object: keep its text as sent
        result = _describe(whole, f"{name}: line 1", text.strip())
        if isinstance(result, str):
            parsed.malformed.append((f"{name}: line 1", result))
        else:
            parsed.objects.append(result)
        return parsed
    else:
        return _parse_jsonl(text, name)
    for where, item in entries:
        result = _describe(item, where)
        if isinstance(result, str):
            parsed.malformed.append((where, result))
        else:
            parsed.objects.append(result)
    return parsed


def _parse_jsonl(text: str, name: str) -> ParsedInput:
    parsed = ParsedInput(objects=[], malformed=[])
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name}: line {number}"
        try:
            item = json.loads(line)
        except ValueError as exc:
            parsed.malformed.append((where, f"invalid JSON: {exc}"))
            continue
        result = _describe(item, where, line.strip())
        if isinstance(result, str):
            parsed.malformed.append((where, result))
        else:
            parsed.objects.append(result)
    return parsed


class Client:
    """Posts bundles, retrying connection errors, 429 and 5xx with bounded backoff."""

    def __init__(self, url: str, token: str, *, retries: int, backoff: float, timeout: float):
        self.endpoint = url.rstrip("/") + "/api/v1/objects/"
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            }
        )

    def post(self, batch: Sequence[InputObject]) -> list[ObjectResult]:
        # The objects' own text is spliced in unchanged.
        body = (
            f'{{"type":"bundle","id":"bundle--{uuid.uuid4()}","objects":['
            + ",".join(o.text for o in batch)
            + "]}"
        ).encode("utf-8")
        attempt = 0
        while True:
            try:
                response = self.session.post(self.endpoint, data=body, timeout=self.timeout)
            except requests.RequestException as exc:
                problem, wait = f"connection failed: {exc}", None
            else:
                # 422 is the exchange's answer when every object was refused: still a report.
                if response.status_code in (200, 207, 422):
                    return self._results(response, len(batch))
                if response.status_code not in _RETRY_STATUSES:
                    raise PublishError(
                        f"the exchange answered {response.status_code}: {response.text[:500]}"
                    )
                problem, wait = (
                    f"the exchange answered {response.status_code}",
                    _retry_after(response),
                )
            attempt += 1
            if attempt > self.retries:
                raise PublishError(
                    f"{problem}; gave up after {self.retries} retries", resumable=True
                )
            time.sleep(min(wait or self.backoff * 2 ** (attempt - 1), _MAX_BACKOFF_S))

    @staticmethod
    def _results(response: requests.Response, expected: int) -> list[ObjectResult]:
        try:
            results = response.json()["results"]
        except (ValueError, KeyError, TypeError) as exc:
            raise PublishError(f"the exchange sent an unreadable answer: {exc}") from exc
        if not isinstance(results, list) or len(results) != expected:
            raise PublishError(
                f"the exchange answered {len(results) if isinstance(results, list) else 'no'} "
                f"results for {expected} objects"
            )
        for result in results:
            if not isinstance(result, dict) or result.get("status") not in (
                "accepted",
                "present",
                "refused",
            ):
                raise PublishError(f"the exchange sent an unknown result: {result!r}")
        return results


def _retry_after(response: requests.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, total: int, stream: TextIO, enabled: bool):
        self.total, self.stream, self.enabled = total, stream, enabled

    def show(self, done: int) -> None:
        if not self.enabled:
            return
        width = 30
        filled = width * done // self.total if self.total else width
        percent = 100 * done // self.total if self.total else 100
        bar = "#" * filled + "." * (width - filled)
        self.stream.write(f"\r[{bar}] {done}/{self.total} objects ({percent}%)")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="isac-publish",
        description="Publish STIX 2.1 objects (JSONL, bundle, or stdin) to an AI-ISAC exchange.",
    )
    parser.add_argument("input", nargs="?", default="-", help="file to publish, or - for stdin")
    parser.add_argument("--url", required=True, help="exchange base URL")
    parser.add_argument(
        "--token",
        default=os.environ.get("ISAC_TOKEN"),
        help="API token (default: $ISAC_TOKEN)",
    )
    parser.add_argument("--batch-size", type=int, default=500, help="objects per request")
    parser.add_argument(
        "--state", help="progress file (default: <input>.isac-progress.json; none for stdin)"
    )
    parser.add_argument("--progress", action="store_true", help="show progress on stderr")
    parser.add_argument("--retries", type=int, default=5, help="retries per batch")
    parser.add_argument("--backoff", type=float, default=0.5, help="first retry delay (s)")
    parser.add_argument("--timeout", type=float, default=120.0, help="per request (s)")
    return parser


def _read(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise PublishError(f"cannot read {source}: {exc}") from exc


def _summary(state: State, malformed: list[tuple[str, str]], out: TextIO) -> None:
    out.write(
        f"accepted: {state.accepted}\npresent: {state.present}\nrefused: {len(state.refused)}\n"
    )
    if malformed:
        out.write(f"malformed (not sent): {len(malformed)}\n")
        for where, why in malformed:
            out.write(f"  {where}: {why}\n")
    if state.refused:
        out.write("refused objects:\n")
        for entry in state.refused:
            # The exchange's reasons usually start with the object id already.
            reason = entry["reason"]
            if not reason.startswith(entry["id"]):
                reason = f"{entry['id']}: {reason}"
            out.write(f"  {entry['where']}: {reason}\n")


def publish(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if not args.token:
        raise PublishError("no token: pass --token or set ISAC_TOKEN")
    if args.batch_size < 1 or args.retries < 0:
        raise PublishError("--batch-size must be at least 1 and --retries at least 0")
    name = "stdin" if args.input == "-" else args.input
    data = _read(args.input)
    parsed = parse_input(data, name)
    for where, why in parsed.malformed:
        err.write(f"{where}: {why}\n")

    state_path = Path(args.state) if args.state else None
    if state_path is None and args.input != "-":
        state_path = Path(args.input + ".isac-progress.json")
    digest = hashlib.sha256(data).hexdigest()
    state = State.load(state_path, digest) if state_path else State(input_sha256=digest)
    if state.confirmed:
        err.write(f"resuming: {state.confirmed} objects already confirmed\n")

    client = Client(
        args.url, args.token, retries=args.retries, backoff=args.backoff, timeout=args.timeout
    )
    objects = parsed.objects
    progress = Progress(len(objects), err, args.progress or err.isatty())
    progress.show(state.confirmed)
    try:
        while state.confirmed < len(objects):
            batch = objects[state.confirmed : state.confirmed + args.batch_size]
            for item, result in zip(batch, client.post(batch), strict=True):
                if result.get("id", item.object_id) != item.object_id:
                    raise PublishError(
                        f"the exchange answered for {result.get('id')} where {item.where} "
                        f"is {item.object_id}; results are out of order",
                        resumable=True,
                    )
                if result["status"] == "accepted":
                    state.accepted += 1
                elif result["status"] == "present":
                    state.present += 1
                else:
                    state.refused.append(
                        {
                            "where": item.where,
                            "id": item.object_id,
                            "reason": result.get("reason", "no reason given"),
                        }
                    )
            state.confirmed += len(batch)
            if state_path:
                state.save(state_path)
            progress.show(state.confirmed)
    except PublishError as exc:
        exc.resumable = exc.resumable and state_path is not None
        raise
    finally:
        progress.close()
    _summary(state, parsed.malformed, out)
    return 1 if state.refused or parsed.malformed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``isac-publish``; returns the exit status."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage error
        return int(exc.code or 0)
    try:
        return publish(args, sys.stdout, sys.stderr)
    except PublishError as exc:
        print(f"isac-publish: {exc}", file=sys.stderr)
        if exc.resumable:
            print("isac-publish: run the same command again to resume", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("isac-publish: interrupted; run the same command again to resume", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
