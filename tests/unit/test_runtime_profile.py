"""PACKSHOT_PROFILE_DIR: where each invoke's time goes, one cProfile file per invoke, the outcome unchanged."""

from __future__ import annotations

import pstats
from pathlib import Path

import pytest

from packshot.local.lambda_runtime import HandlerSpec, call_handler


def _stage(event: dict, context: object) -> dict:
    return {"total": sum(range(event["n"]))}


def test_a_profiled_invoke_writes_its_profile_and_returns_what_the_handler_returned(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PACKSHOT_PROFILE_DIR", str(tmp_path / "prof"))
    spec = HandlerSpec("SumFunction", "sum", tmp_path, "app", "lambda_handler", timeout_s=3, memory_mb=128)
    outcome = call_handler(spec, _stage, {"n": 10})
    assert outcome.payload == '{"total": 45}' and outcome.error is None
    [written] = list((tmp_path / "prof").glob("SumFunction-*.prof"))
    functions = {name for (_, _, name) in pstats.Stats(str(written)).stats}  # type: ignore[attr-defined]
    assert "_stage" in functions


def test_without_the_variable_nothing_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PACKSHOT_PROFILE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    spec = HandlerSpec("SumFunction", "sum", tmp_path, "app", "lambda_handler", timeout_s=3, memory_mb=128)
    assert call_handler(spec, _stage, {"n": 3}).payload == '{"total": 3}'
    assert not list(tmp_path.rglob("*.prof"))
