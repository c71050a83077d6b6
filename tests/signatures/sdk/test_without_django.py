"""The lab SDK runs where the server cannot: in a Python without Django.

Each test starts a fresh interpreter in which importing Django, DRF or any module of the
server fails, as on a lab's gateway that installed only the SDK, then imports every SDK
module and runs the command-line tools' --help.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import signatures.sdk

ROOT = Path(__file__).resolve().parents[3]

#: Installed before anything else: a finder that refuses the server's packages.
BLOCKER = """
import importlib.abc, sys
SERVER = ("django", "rest_framework", "celery", "members", "exchange")
SDK = "signatures.sdk"
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        outside_sdk = name.startswith("signatures.") and not (
            name == SDK or name.startswith(SDK + ".")
        )
        if name.split(".")[0] in SERVER or outside_sdk:
            raise ImportError(f"{name} is not installed here")
        return None
sys.meta_path.insert(0, Refuse())
"""

SDK_MODULES = sorted(
    f"signatures.sdk.{module.name}" for module in pkgutil.iter_modules(signatures.sdk.__path__)
)


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


def test_the_blocker_refuses_django() -> None:
    result = run("import django")
    assert result.returncode != 0 and "django is not installed here" in result.stderr


def test_every_sdk_module_imports_without_the_server() -> None:
    assert len(SDK_MODULES) >= 8
    result = run(
        "import importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in SDK_MODULES)
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("script", "module"),
    [("isac-publish", "publish_client"), ("isac-verify", "verify_cli")],
)
def test_the_command_line_tools_answer_help_without_the_server(script: str, module: str) -> None:
    result = run(
        f"import sys\nsys.argv = [{script!r}, '--help']\n"
        f"from signatures.sdk.{module} import main\nmain()\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:") and script in result.stdout
