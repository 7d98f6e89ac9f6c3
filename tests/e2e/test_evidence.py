"""The evidence scripts (evidence/) at a small size: duplicates, bad input, transient faults, logs, cost model."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence import attacks, bad_inputs, cost, duplicates, faults

# What must never reach a log: SigV4 presigned URL parts and Step Functions task tokens.
SECRET_PATTERNS = [r"X-Amz-Signature=", r"X-Amz-Credential=", r"X-Amz-Security-Token=",
                   r"(?i)\"?task_?token\"?\s*[:=]\s*\"?[A-Za-z0-9+/=_-]{16,}"]


@pytest.fixture()
def small_size_limit_aws(model_file: Path) -> Iterator[object]:
    """The embedded AWS with a 3 MB object limit, so the corpus's "too big" file stays small."""
    from packshot.local.embedded import EmbeddedAws

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    with EmbeddedAws(log_level="ERROR", parameters={"MaxObjectBytes": str(bad_inputs.SIZE_LIMIT)}) as aws:
        yield aws


def test_uploads_delivered_three_times_give_one_execution_one_record_and_one_export_set_each(embedded) -> None:
    result = duplicates.run(embedded, n=2, deliveries=3)

    assert result["problems"] == []
    assert result["executions"] == result["records"] == 2
    assert result["notifications_captured"] == 2  # each first receive failed, so SQS redelivered it
    assert result["export_retry_checked"]


def test_every_kind_of_bad_input_settles_with_a_reason_and_leaves_the_original_untouched(small_size_limit_aws) -> None:
    result = bad_inputs.run(small_size_limit_aws)

    assert result["kinds"] >= 50
    assert result["problems"] == []  # includes: no record ended "failed"
    assert "failed" not in result["by_status"]
    assert result["handler_errors"] == 0 and result["dead_letters"] == 0
    rows = {row["kind"]: row for row in result["rows"]}
    for kind in ("zero bytes", "truncated JPEG", "HTML named .jpg", "PDF", "1x1 pixel", "999 px",
                 "30,000 px bomb header", "object deleted before processing", "JPEG with a damaged restart interval",
                 "JPEG header claiming 12000x8000 over 1 MP", "PNG with a damaged IDAT (CRC)", "all white",
                 "all black", "fully transparent PNG", "1x100000 px", "200 MP header", "truncated CR3",
                 "manifest: platforms 5", "manifest: two rows for one file", "manifest: wrong GTIN check digit"):
        assert rows[kind]["status"] == "rejected" and rows[kind]["reason"], kind
    for kind in ("16-bit CMYK TIFF", "16-bit planar RGB TIFF", "JPEG with an MPF gain map", "key with a tab"):
        assert rows[kind]["status"] not in ("rejected", "failed"), (kind, rows[kind])  # read, then judged
    assert rows["manifest: one-element list"]["status"] == "needs_review"  # jewelry: a person decides
    assert rows["200 MP header"]["reason"].startswith("the photo has 200 million pixels")
    for kind, words in (("PNG with a damaged IDAT (CRC)", "PNG data is damaged"),
                        ("PNG with a damaged zlib stream", "PNG data is damaged"),
                        ("JPEG with a damaged restart interval", "damaged in its lower third"),
                        ("multi-page TIFF", "2 pages"), ("all white", "one colour")):
        assert words in rows[kind]["reason"], (kind, rows[kind])  # refused for what it is, not its size
    assert "00012345678905.jpg" in rows["manifest: GTIN for Walmart"]["files"]
    # The fixture set MaxObjectBytes: the limit is the template's, and the file over it is refused with its size.
    assert small_size_limit_aws.stack.parameters["MaxObjectBytes"] == str(bad_inputs.SIZE_LIMIT)
    assert rows["object over the size limit"]["status"] == "rejected"
    assert rows["object over the size limit"]["reason"], rows["object over the size limit"]


def test_with_ten_percent_transient_faults_every_image_finishes_once(embedded) -> None:
    result = faults.run(embedded, n=3, rate=0.1, seed=3)

    assert result["problems"] == []
    assert result["faults_injected"] > 0
    assert result["by_status"].get("failed", 0) == 0


def test_the_logs_of_a_run_with_a_review_hold_no_task_token_or_presigned_url(model_file, repo) -> None:
    # A process of its own: Powertools configures each service's logger once per process.
    run = subprocess.run(
        [sys.executable, "-m", "evidence.logscan"], cwd=repo, capture_output=True, text=True, check=False,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    logs = run.stdout + run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    staged = [line for line in lines if line.get("message") == "stage finished"]
    assert staged and all(line["correlation_id"].startswith("img-") for line in staged), \
        "the stages log JSON with the image id as correlation id"
    assert "needs_review" in run.stderr or "needs_senior" in run.stderr, "a review step ran"
    for pattern in SECRET_PATTERNS:
        assert not re.search(pattern, logs), pattern


def test_the_cost_model_adds_up_lambda_state_machine_queue_storage_and_table_costs() -> None:
    measured = {"images": 2, "durations": {"fn-a": [1.0, 1.0], "fn-b": [0.5, 0.5]},
                "compute": {"fn-a": [0.75, 0.75], "fn-b": [0.25, 0.5]},
                "memory_mb": {"fn-a": 1024, "fn-b": 2048}, "logical": {"fn-a": "AFunction", "fn-b": "BFunction"},
                "requests": {"s3:PUT": 4, "s3:GET": 6, "UpdateItem": 8}, "transitions": [10, 10],
                "stored_bytes": 2_000_000, "record_kb": 1.5}

    result = cost.model(measured)

    lambda_gb_s = 1.0 * 1 + 0.5 * 2  # per image
    assert result["stages"]["AFunction"]["seconds_per_image"] == 1.0
    assert result["lambda_seconds_per_image"] == 1.5 and result["lambda_compute_seconds_per_image"] == 1.125
    assert result["by_service_usd_per_image"]["lambda"] == pytest.approx(
        lambda_gb_s * cost.PRICES["lambda_arm64_gb_second"] + 2 * cost.PRICES["lambda_request"])
    assert result["by_service_usd_per_image"]["step_functions"] == pytest.approx(10 * 0.025 / 1000)
    assert result["usd_per_image"] == pytest.approx(sum(result["by_service_usd_per_image"].values()))


def test_the_attacks_that_need_no_pipeline_run_are_all_refused(embedded) -> None:
    results = attacks.run(embedded, quick=True)

    assert len(results) >= 15
    assert [f"{r.finding}: {r.attack}: {r.observed}" for r in results if not r.ok] == []
