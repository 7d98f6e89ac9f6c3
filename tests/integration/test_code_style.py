"""House style is checked, not hoped for: ruff over all the Python here, mypy over the package and handlers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

BIN = Path(sys.executable).parent
# Everything in the repository that is Python: the package and handlers, and the tests, eval, bench and tools.
LINTED = ("layers", "functions", "tests", "eval", "bench", "evidence", "tools")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*args], cwd=REPO, capture_output=True, text=True, timeout=300, check=False)


def test_ruff_finds_nothing_in_the_code_its_tests_or_its_tools() -> None:
    result = run(str(BIN / "ruff"), "check", *LINTED)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing_in_the_package_or_the_model_tool() -> None:
    result = run(str(BIN / "mypy"), "layers/packshot/packshot", "tools/quantize_u2netp.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing_in_any_handler() -> None:
    # One run per handler: every stage's module is called app.py, which one mypy run cannot hold twice.
    for handler in sorted((REPO / "functions").glob("*/app.py")):
        result = run(str(BIN / "mypy"), str(handler.relative_to(REPO)))
        assert result.returncode == 0, f"{handler}: {result.stdout}{result.stderr}"
