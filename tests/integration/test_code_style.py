"""House style is checked, not hoped for: ruff and mypy clean over the package and the handlers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

BIN = Path(sys.executable).parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*args], cwd=REPO, capture_output=True, text=True, timeout=300, check=False)


def test_ruff_finds_nothing_in_the_package_or_the_handlers() -> None:
    result = run(str(BIN / "ruff"), "check", "layers", "functions")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing_in_the_package() -> None:
    result = run(str(BIN / "mypy"), "layers/packshot/packshot")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing_in_any_handler() -> None:
    # One run per handler: every stage's module is called app.py, which one mypy run cannot hold twice.
    for handler in sorted((REPO / "functions").glob("*/app.py")):
        result = run(str(BIN / "mypy"), str(handler.relative_to(REPO)))
        assert result.returncode == 0, f"{handler}: {result.stdout}{result.stderr}"
