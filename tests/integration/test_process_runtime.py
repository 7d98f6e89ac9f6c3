"""Handlers in worker processes (`packshot run`): the same invoke contract, on other cores, measured per invoke."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator

import pytest

from tests.conftest import EVENTS


@pytest.fixture(scope="module")
def aws(model_file) -> Iterator[object]:
    from packshot.local.embedded import EmbeddedAws

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    with EmbeddedAws(log_level="ERROR", event_sources=False, processes=True, max_concurrency=2) as embedded:
        yield embedded


def invoke(aws, logical: str, event: dict) -> tuple[dict, dict]:
    resp = aws.client("lambda").invoke(FunctionName=aws.physical(logical), Payload=json.dumps(event).encode())
    return resp, json.loads(resp["Payload"].read())


def test_an_invoke_runs_in_a_worker_process_and_is_timed_with_its_requests(aws) -> None:
    from packshot.local.lambda_runtime import ProcessRuntime

    assert isinstance(aws.runtime, ProcessRuntime)
    event = json.loads((EVENTS / "ingest.json").read_text())
    resp, payload = invoke(aws, "IngestFunction", event)
    assert "FunctionError" not in resp and payload == {"batchItemFailures": []}
    timing = aws.runtime.timings[-1]
    assert timing.function_name == aws.physical("IngestFunction") and timing.wall_s > 0 and timing.cpu_s > 0
    # The record's conditional put and the execution's start, counted on the worker's own clients.
    assert timing.requests.get("PutItem") == 1 and timing.requests.get("StartExecution") == 1
    assert aws.runtime._pool is not None and all(pid != os.getpid() for pid in aws.runtime._pool._processes)


def test_a_handler_error_in_a_worker_is_a_function_error_named_after_its_type(aws) -> None:
    errors = len(aws.runtime.errors)
    resp, payload = invoke(aws, "PreprocessFunction", {"image_id": "img-none"})
    assert resp.get("FunctionError") == "Handled"
    assert payload["errorType"] == "KeyError" and aws.runtime.errors[errors][1] == "KeyError"


def test_an_injected_fault_still_happens_before_the_invoke_is_handed_over(aws) -> None:
    def fail(function_name: str, event: object) -> None:
        raise RuntimeError("injected: throttled")

    aws.runtime.fault_injector = fail
    try:
        resp, payload = invoke(aws, "ClassifyFunction", {"image_id": "img-none"})
    finally:
        aws.runtime.fault_injector = None
    assert resp.get("FunctionError") and payload["errorType"] == "RuntimeError"
    assert "injected" in payload["errorMessage"]
