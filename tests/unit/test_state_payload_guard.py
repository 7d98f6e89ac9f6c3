"""The embedded runtime enforces what moto does not: a state machine task's output over 256 KiB is an error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from packshot.local.lambda_runtime import STATE_PAYLOAD_LIMIT, HandlerSpec, InProcessRuntime, ProcessRuntime


@pytest.fixture(params=[InProcessRuntime, ProcessRuntime], ids=["in process", "worker processes"])
def runtime_class(request: pytest.FixtureRequest) -> type[InProcessRuntime]:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def make_runtime(tmp_path: Path, runtime_class: type[InProcessRuntime], monkeypatch: pytest.MonkeyPatch,
                 ) -> Iterator[object]:
    # A worker makes the handlers' clients at its start (to count their requests): they need a region.
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    made: list[InProcessRuntime] = []

    def make(size: int) -> InProcessRuntime:
        (tmp_path / "app.py").write_text(f"def lambda_handler(event, context):\n    return {{'blob': 'x' * {size}}}\n")
        spec = HandlerSpec("BigFunction", "big", tmp_path, "app", "lambda_handler", timeout_s=3, memory_mb=128)
        runtime = runtime_class({"big": spec}, max_concurrency=1)
        runtime.state_task_functions = {"big"}
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.uninstall()  # a worker pool is shut down


def test_a_task_output_over_the_state_limit_fails_like_states_data_limit_exceeded(make_runtime) -> None:
    payload, errored, _ = make_runtime(STATE_PAYLOAD_LIMIT).invoke("big", {})

    assert errored and json.loads(payload)["errorType"] == "States.DataLimitExceeded"


def test_a_task_output_under_the_limit_passes(make_runtime) -> None:
    payload, errored, _ = make_runtime(1000).invoke("big", {})

    assert not errored and len(json.loads(payload)["blob"]) == 1000
