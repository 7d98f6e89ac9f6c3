"""The metrics each stage emits: what the dashboard and the business alarms read."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from packshot.observability import emit_review_backlog, emit_stage_metrics, review_backlog
from tests.fakes import FakeMetrics


def test_finish_emits_the_score_and_a_zero_or_one_reject_so_the_rate_is_a_plain_ratio() -> None:
    approved, rejected = FakeMetrics(), FakeMetrics()

    emit_stage_metrics(approved, "finish", {"decision": "approve", "qc_score": 94.5}, time.perf_counter())
    emit_stage_metrics(rejected, "finish", {"decision": "reject", "qc_score": 41.0, "status": "redo"},
                       time.perf_counter())

    assert approved.metrics["QcScored"] == rejected.metrics["QcScored"] == 1
    assert (approved.metrics["QcRejected"], rejected.metrics["QcRejected"]) == (0, 1)
    assert approved.metrics["QcScore"] == 94.5
    assert "ImagesRejected" in rejected.metrics and "ImagesRejected" not in approved.metrics


def test_every_stage_counts_its_images_and_latency_and_classify_its_route() -> None:
    sink = FakeMetrics()

    emit_stage_metrics(sink, "classify", {"route": "complex"}, time.perf_counter() - 0.25)

    assert sink.metrics["ImagesProcessed"] == 1
    assert sink.metrics["StageLatency"] >= 250
    assert sink.metrics["RouteComplex"] == 1


def test_the_backlog_is_the_count_and_the_age_of_the_oldest_open_review() -> None:
    now = datetime(2026, 1, 2, tzinfo=UTC)

    assert review_backlog(["2026-01-01T00:00:00+00:00", "2026-01-01T12:00:00+00:00"], now) == (2, 86400.0)
    assert review_backlog([], now) == (0, 0.0)


def test_an_empty_backlog_is_still_emitted_so_the_alarm_sees_zero_not_missing_data() -> None:
    sink = FakeMetrics()

    emit_review_backlog(sink, 0, 0.0)

    assert sink.metrics == {"ReviewBacklogCount": 0, "ReviewBacklogOldestAgeSeconds": 0.0}
