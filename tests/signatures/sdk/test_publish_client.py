"""isac-publish against a small stand-in exchange on 127.0.0.1 that can fail on demand."""

from __future__ import annotations

import io
import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from signatures.sdk.publish_client import main

TOKEN = "test-token"


class FakeExchange(ThreadingHTTPServer):
    """Answers like the exchange: one result per object, "present" for a known version."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.stored: dict[tuple[str, str], dict[str, Any]] = {}
        #: Every object the server processed, in order, duplicates included.
        self.processed: list[str] = []
        self.bodies: list[bytes] = []
        self.requests = 0
        #: Failures for the next requests: "503", "429", or "drop" (store, then hang up).
        self.failures: list[str | None] = []
        #: After this many successful requests, answer 503 to everything.
        self.down_after: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: FakeExchange

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        server = self.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path != "/api/v1/objects/" or self.headers["Content-Type"] != "application/json":
            return self._answer(404, {"detail": "not found"})
        if self.headers["Authorization"] != f"Bearer {TOKEN}":
            return self._answer(401, {"detail": "bad token"})
        with server.lock:
            server.requests += 1
            failure = server.failures.pop(0) if server.failures else None
            if server.down_after is not None and server.down_after <= 0:
                failure = "503"
            if failure == "503":
                return self._answer(503, {"detail": "unavailable"})
            if failure == "429":
                return self._answer(429, {"detail": "slow down"}, {"Retry-After": "0"})
            if server.down_after is not None:
                server.down_after -= 1
            server.bodies.append(body)
            bundle = json.loads(body)
            assert bundle["type"] == "bundle" and bundle["id"].startswith("bundle--")
            results = []
            for obj in bundle["objects"]:
                server.processed.append(obj["id"])
                key = (obj["id"], obj.get("modified", ""))
                if obj.get("x_refuse"):
                    status, reason = "refused", f"{obj['id']}: refused for the test"
                elif key in server.stored:
                    status, reason = "present", ""
                else:
                    server.stored[key] = obj
                    status, reason = "accepted", ""
                results.append(
                    {"id": obj["id"], "modified": key[1], "status": status}
                    | ({"reason": reason} if reason else {})
                )
        if failure == "drop":
            self.close_connection = True  # processed, but the answer never arrives
            return None
        counts = {s: sum(r["status"] == s for r in results) for s in ("accepted", "present")}
        refused = sum(r["status"] == "refused" for r in results)
        return self._answer(207 if refused else 200, {"results": results, **counts,
                                                      "refused": refused})  # fmt: skip


@pytest.fixture
def exchange() -> Iterator[FakeExchange]:
    server = FakeExchange()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def indicator(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
        "created": "2026-11-24T00:00:00.000Z",
        "modified": "2026-11-24T00:00:00.000Z",
        "pattern": f"[ipv4-addr:value = '203.0.113.{n % 250}']",
        "pattern_type": "stix",
        **extra,
    }


def write_jsonl(path: Path, objects: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objects))
    return path


def run(exchange: FakeExchange, *args: str) -> int:
    return main(["--url", exchange.url, "--token", TOKEN, "--backoff", "0.01", *args])


def test_publishes_jsonl_in_batches(exchange: FakeExchange, tmp_path: Path, capsys) -> None:
    source = write_jsonl(tmp_path / "objects.jsonl", [indicator(n) for n in range(12)])
    assert run(exchange, str(source), "--batch-size", "5") == 0
    assert exchange.requests == 3
    assert [len(json.loads(b)["objects"]) for b in exchange.bodies] == [5, 5, 2]
    out = capsys.readouterr().out
    assert "accepted: 12\npresent: 0\nrefused: 0\n" in out
    state = json.loads((tmp_path / "objects.jsonl.isac-progress.json").read_text())
    assert state["confirmed"] == 12


def test_sends_each_jsonl_line_unchanged(exchange: FakeExchange, tmp_path: Path) -> None:
    # Spacing and key order are the producer's (its signature may cover these bytes).
    line = '{"type": "indicator",  "id": "indicator--00000000-0000-4000-8000-000000000001"}'
    (tmp_path / "one.jsonl").write_text(line + "\n")
    assert run(exchange, str(tmp_path / "one.jsonl")) == 0
    assert line.encode() in exchange.bodies[0]


def test_publishes_a_bundle_file(exchange: FakeExchange, tmp_path: Path) -> None:
    bundle = {"type": "bundle", "id": "bundle--1", "objects": [indicator(n) for n in range(3)]}
    (tmp_path / "bundle.json").write_text(json.dumps(bundle, indent=2))
    assert run(exchange, str(tmp_path / "bundle.json")) == 0
    assert len(exchange.stored) == 3


def test_publishes_stdin(exchange: FakeExchange, monkeypatch, capsys) -> None:
    data = "".join(json.dumps(indicator(n)) + "\n" for n in range(4)).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert run(exchange) == 0
    assert "accepted: 4" in capsys.readouterr().out


def test_refusals_are_listed_with_reasons(exchange: FakeExchange, tmp_path: Path, capsys) -> None:
    objects = [indicator(0), indicator(1, x_refuse=True), indicator(2)]
    source = write_jsonl(tmp_path / "objects.jsonl", objects)
    assert run(exchange, str(source)) == 1
    out = capsys.readouterr().out
    assert "accepted: 2\npresent: 0\nrefused: 1\n" in out
    assert f"line 2: {objects[1]['id']}: refused for the test" in out


def test_malformed_lines_are_reported_not_dropped(
    exchange: FakeExchange, tmp_path: Path, capsys
) -> None:
    source = tmp_path / "objects.jsonl"
    source.write_text(
        json.dumps(indicator(0)) + "\n{not json\n\n[1, 2]\n" + json.dumps({"type": "x"}) + "\n"
    )
    assert run(exchange, str(source)) == 1
    captured = capsys.readouterr()
    assert "objects.jsonl: line 2: invalid JSON" in captured.err
    assert "objects.jsonl: line 4: not a JSON object but list" in captured.err
    assert "objects.jsonl: line 5: has no 'type--UUID' id" in captured.err
    assert "malformed (not sent): 3" in captured.out
    assert len(exchange.stored) == 1


def test_resumes_after_an_outage_without_duplicates(
    exchange: FakeExchange, tmp_path: Path, capsys
) -> None:
    objects = [indicator(n) for n in range(23)]
    source = write_jsonl(tmp_path / "objects.jsonl", objects)
    exchange.down_after = 2  # two batches go through, then the exchange is down
    assert run(exchange, str(source), "--batch-size", "5", "--retries", "2") == 2
    captured = capsys.readouterr()
    assert "gave up after 2 retries" in captured.err and "to resume" in captured.err
    assert len(exchange.processed) == 10

    exchange.down_after = None
    assert run(exchange, str(source), "--batch-size", "5") == 0
    captured = capsys.readouterr()
    assert "resuming: 10 objects already confirmed" in captured.err
    assert "accepted: 23\npresent: 0\nrefused: 0" in captured.out
    # Every object reached the exchange exactly once.
    assert sorted(exchange.processed) == sorted(o["id"] for o in objects)


def test_a_lost_answer_is_resent_and_reported_present(
    exchange: FakeExchange, tmp_path: Path, capsys
) -> None:
    source = write_jsonl(tmp_path / "objects.jsonl", [indicator(n) for n in range(15)])
    exchange.failures = [None, "drop"]
    assert run(exchange, str(source), "--batch-size", "5") == 0
    assert "accepted: 10\npresent: 5\nrefused: 0" in capsys.readouterr().out
    assert len(exchange.stored) == 15  # the resent batch was not stored twice


def test_retries_429_and_5xx(exchange: FakeExchange, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "objects.jsonl", [indicator(n) for n in range(3)])
    exchange.failures = ["429", "503", "503"]
    assert run(exchange, str(source)) == 0
    assert exchange.requests == 4
    assert len(exchange.stored) == 3


def test_a_changed_input_does_not_reuse_its_state(
    exchange: FakeExchange, tmp_path: Path, capsys
) -> None:
    source = write_jsonl(tmp_path / "objects.jsonl", [indicator(n) for n in range(3)])
    assert run(exchange, str(source)) == 0
    write_jsonl(source, [indicator(n) for n in range(4)])
    assert run(exchange, str(source)) == 2
    assert "belongs to different input" in capsys.readouterr().err


def test_a_finished_run_is_not_repeated(exchange: FakeExchange, tmp_path: Path, capsys) -> None:
    source = write_jsonl(tmp_path / "objects.jsonl", [indicator(n) for n in range(3)])
    assert run(exchange, str(source)) == 0
    capsys.readouterr()
    assert run(exchange, str(source)) == 0
    assert exchange.requests == 1
    assert "accepted: 3\npresent: 0\nrefused: 0" in capsys.readouterr().out


def test_usage_and_auth_errors_exit_2(exchange: FakeExchange, tmp_path: Path, capsys) -> None:
    source = write_jsonl(tmp_path / "objects.jsonl", [indicator(0)])
    assert main([str(source)]) == 2  # no --url
    assert main(["--url", exchange.url, "--token", "wrong", str(source)]) == 2
    assert "answered 401" in capsys.readouterr().err
    assert main(["--url", exchange.url, str(tmp_path / "missing.jsonl"), "--token", "t"]) == 2
    assert run(exchange, str(source), "--batch-size", "0") == 2


def test_connection_errors_are_transport_errors(tmp_path: Path, capsys) -> None:
    source = write_jsonl(tmp_path / "objects.jsonl", [indicator(0)])
    with ThreadingHTTPServer(("127.0.0.1", 0), Handler) as closed:
        port = closed.server_address[1]
    code = main(["--url", f"http://127.0.0.1:{port}", "--token", TOKEN, "--retries", "1",
                 "--backoff", "0.01", str(source)])  # fmt: skip
    assert code == 2
    assert "connection failed" in capsys.readouterr().err


def test_progress_bar_on_request(exchange: FakeExchange, tmp_path: Path, capsys) -> None:
    source = write_jsonl(tmp_path / "objects.jsonl", [indicator(n) for n in range(6)])
    assert run(exchange, str(source), "--batch-size", "3", "--progress") == 0
    err = capsys.readouterr().err
    assert "\r[###############...............] 3/6 objects (50%)" in err
    assert "6/6 objects (100%)\n" in err
