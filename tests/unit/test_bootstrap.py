"""The wiring the handlers share: settings checked at cold start, adapters by need, Powertools applied once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from packshot import bootstrap
from packshot.errors import ConfigurationError
from packshot.local.lambda_runtime import FakeContext
from tests.conftest import REPO

ENV = {"RECORDS_TABLE": "records", "WORK_BUCKET": "work", "REVIEW_TABLE": "reviews"}

# A fresh interpreter: this test process has long imported the X-Ray SDK through other tests.
XRAY_PROBE = """
import json, sys
from packshot import bootstrap
env = {"RECORDS_TABLE": "records", "WORK_BUCKET": "work"}
untraced = bootstrap.stage("cutout", needs=("records_table", "work_bucket"), tracing=False, environ=env)
seen = ["aws_xray_sdk" in sys.modules, untraced.tracer is None]
traced = bootstrap.stage("classify", needs=("records_table", "work_bucket"), environ=env)
print(json.dumps(seen + ["aws_xray_sdk" in sys.modules, traced.tracer is not None]))
"""

CUTOUT_PROBE = """
import importlib.util, os, sys
os.environ.update(RECORDS_TABLE="records", WORK_BUCKET="work", AWS_DEFAULT_REGION="us-east-1",
                  POWERTOOLS_METRICS_DISABLED="true", POWERTOOLS_LOG_LEVEL="ERROR")
spec = importlib.util.spec_from_file_location("cutout_app", "functions/cutout/app.py")
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)
print(sorted(m for m in sys.modules if m.startswith("aws_xray_sdk")), app.stage.tracer)
"""


def probe(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300,
                            check=False, env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(autouse=True)
def region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def test_a_stage_without_tracing_never_imports_the_xray_sdk_and_a_traced_one_does() -> None:
    assert json.loads(probe(XRAY_PROBE)) == [False, True, True, True]


def test_the_cutout_handler_loads_without_the_xray_sdk(model_file: Path) -> None:
    # Its cold start is the pipeline's heaviest; the SDK's sampler would add 0.3-0.5 s to it.
    assert probe(CUTOUT_PROBE) == "[] None"


def test_a_missing_setting_stops_the_cold_start_naming_its_environment_variable() -> None:
    with pytest.raises(ConfigurationError, match="WORK_BUCKET"):
        bootstrap.stage("classify", needs=("records_table", "work_bucket"), tracing=False,
                        environ={"RECORDS_TABLE": "records"})


def test_a_stage_gets_the_adapters_its_needs_name_and_no_others() -> None:
    backlog = bootstrap.stage("backlog", needs=("review_table",), tracing=False, environ=ENV)
    classify = bootstrap.stage("classify", needs=("records_table", "work_bucket"), tracing=False, environ=ENV)

    assert backlog.reviews is not None and classify.store is not None and classify.records is not None
    with pytest.raises(ConfigurationError, match="needs"):
        _ = backlog.store
    with pytest.raises(ConfigurationError, match="records_table"):
        _ = backlog.records
    with pytest.raises(ConfigurationError, match="review_table"):
        _ = classify.reviews


def emf_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if '"_aws"' in line]


def test_the_handler_flushes_the_stage_metrics_under_its_stage_and_sets_the_correlation_id(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "packshot")
    stage = bootstrap.stage("finish", needs=("records_table", "work_bucket"), tracing=False, environ=ENV)
    seen: dict[str, object] = {}

    @stage.handler(correlation_id_path="image_id")
    def handle(event: dict, context: object) -> dict:
        seen["correlation_id"] = stage.logger.get_correlation_id()
        return stage.finished({**event, "status": "processing", "decision": "approve", "qc_score": 93.0},
                              time.perf_counter())

    result = handle({"image_id": "img-7"}, FakeContext("FinishFunction", 1024, 30))

    assert result["image_id"] == "img-7" and type(result) is dict
    assert seen["correlation_id"] == "img-7"
    (emf,) = emf_lines(capsys.readouterr().out)
    directive = emf["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == bootstrap.NAMESPACE
    assert emf["Stage"] == "finish" and emf["service"] == "packshot"
    assert {m["Name"] for m in directive["Metrics"]} >= {"ImagesProcessed", "StageLatency", "QcScored", "QcRejected"}
    assert emf["QcRejected"] == [0.0]


def test_a_stage_without_the_stage_dimension_emits_by_service_alone(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "packshot")
    stage = bootstrap.stage("backlog", needs=("review_table",), tracing=False, stage_dimension=False, environ=ENV)

    @stage.handler()
    def handle(event: dict, context: object) -> dict:
        stage.metrics.add_metric(name="ReviewBacklogCount", unit="Count", value=3)
        return {}

    handle({}, FakeContext("BacklogFunction", 256, 30))

    (emf,) = emf_lines(capsys.readouterr().out)
    assert emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    assert emf["ReviewBacklogCount"] == [3.0]


CALIBRATION_PROBE = """
import importlib.util, os
os.environ.update(RECORDS_TABLE="records", WORK_BUCKET="work", AWS_DEFAULT_REGION="us-east-1",
                  POWERTOOLS_METRICS_DISABLED="true", POWERTOOLS_LOG_LEVEL="INFO", MODEL_NAME=os.environ["PROBE_MODEL"])
spec = importlib.util.spec_from_file_location("cutout_app", "functions/cutout/app.py")
spec.loader.exec_module(importlib.util.module_from_spec(spec))
print("end")
"""


def _cold_start_logs(model: str) -> str:
    result = subprocess.run([sys.executable, "-c", CALIBRATION_PROBE], cwd=REPO, capture_output=True, text=True,
                            timeout=300, check=False, env={**os.environ, "PROBE_MODEL": model})
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_cutout_model_that_borrows_the_gate_says_so_at_cold_start_and_the_default_does_not(model_file: Path) -> None:
    from packshot.models.catalog import DEFAULT_FAMILY

    borrowed = [json.loads(line) for line in _cold_start_logs("u2netp-fast").splitlines() if line.startswith("{")]
    [warning] = [r for r in borrowed if r.get("message") == "the auto-approval gate was fitted on another model"]
    assert warning["level"] == "WARNING" and warning["gate_fitted_on"] == DEFAULT_FAMILY
    assert warning["model"] == "u2netp-fast" and "u2netp-int8's masks" in warning["why_acceptable"]
    own = _cold_start_logs(DEFAULT_FAMILY)
    assert "model file ready" in own and "fitted on another model" not in own
