"""`packshot run` and `packshot review` need the `local` extra; without it they stop with the pip command to run."""

from __future__ import annotations

import re
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

from packshot.cli import LOCAL_EXTRA_MODULES, main, require_local_extra
from packshot.errors import ConfigurationError, MissingExtraError
from tests.conftest import EXAMPLES, REPO

PIP_COMMAND = "pip install 'packshot[local]'"


def extras() -> dict[str, list[str]]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def uninstall(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    # A None entry in sys.modules is how Python marks a module that cannot be imported: find_spec says None.
    monkeypatch.setitem(sys.modules, module, None)


def test_packshot_run_without_moto_stops_before_starting_and_names_the_pip_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    uninstall(monkeypatch, "moto")

    assert main(["run", str(EXAMPLES), "--out", str(tmp_path / "out")]) == 2

    err = capsys.readouterr().err
    assert PIP_COMMAND in err and "missing: moto" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_packshot_review_without_jinja2_names_the_pip_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    uninstall(monkeypatch, "jinja2")

    assert main(["review", "--endpoint", "http://127.0.0.1:1"]) == 2

    assert PIP_COMMAND in capsys.readouterr().err


def test_the_missing_extra_is_a_typed_configuration_error_listing_every_missing_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uninstall(monkeypatch, "flask")
    uninstall(monkeypatch, "jinja2")

    with pytest.raises(MissingExtraError, match=r"missing: flask, jinja2\)") as raised:
        require_local_extra("run")
    assert isinstance(raised.value, ConfigurationError)


def test_with_the_extra_installed_every_command_passes_the_check() -> None:
    # A misspelt module name here would stop every `packshot run`, so the real environment must pass.
    for command in LOCAL_EXTRA_MODULES:
        require_local_extra(command)


def test_the_local_extra_holds_the_pinned_moto_and_jinja2_and_dev_builds_on_it() -> None:
    local, dev = extras()["local"], extras()["dev"]

    (moto,) = [r for r in local if r.startswith("moto")]
    assert moto == f"moto[server,stepfunctions]=={version('moto')}"
    assert any(re.match(r"jinja2\b", r) for r in local)
    assert "packshot[local]" in dev
    assert not [r for r in dev if re.match(r"(moto|jinja2)\b", r)], "say each requirement once: in local"
