"""The containers' HTTP healthcheck: ``python -m exchange.observability.probe URL...``.

Exits 0 when every URL answers 2xx within the timeout, 1 otherwise, printing why. It sets
up no Django (a healthcheck runs every few seconds), and the slim image has no curl.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

TIMEOUT = 5.0


def probe(url: str) -> str | None:
    """None when ``url`` answers 2xx, else what went wrong."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            if 200 <= response.status < 300:
                return None
            return f"{url}: HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"{url}: HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return f"{url}: {exc}"


def main(argv: list[str]) -> int:
    if not argv:
        sys.stderr.write("usage: python -m exchange.observability.probe URL...\n")
        return 2
    failures = [failure for failure in map(probe, argv) if failure]
    for failure in failures:
        sys.stderr.write(failure + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
