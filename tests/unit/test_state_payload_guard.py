"""The embedded runtime enforces what moto does not: a state machine task's output over 256 KiB is an error."""

from __future__ import annotations

import json
from pathlib import Path

from packshot.local.lambda_runtime import STATE_PAYLOAD_LIMIT, HandlerSpec, InProcessRuntime


def runtime_for(tmp_path: Path, size: int) -> InProcessRuntime:
    (tmp_path / "app.py").write_text(f"def lambda_handler(event, context):\n    return {{'blob': 'x' * {size}}}\n")
    spec = HandlerSpec("BigFunction", "big", tmp_path, "app", "lambda_handler", timeout_s=3, memory_mb=128)
    runtime = InProcessRuntime({"big": spec})
    runtime.state_task_functions = {"big"}
    return runtime


def test_a_task_output_over_the_state_limit_fails_like_states_data_limit_exceeded(tmp_path: Path) -> None:
    payload, errored, _ = runtime_for(tmp_path, STATE_PAYLOAD_LIMIT).invoke("big", {})

    assert errored and json.loads(payload)["errorType"] == "States.DataLimitExceeded"


def test_a_task_output_under_the_limit_passes(tmp_path: Path) -> None:
    payload, errored, _ = runtime_for(tmp_path, 1000).invoke("big", {})

    assert not errored and len(json.loads(payload)["blob"]) == 1000
