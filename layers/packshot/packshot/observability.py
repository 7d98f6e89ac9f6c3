"""The metrics each stage emits (EMF through Powertools): what the dashboard and the business alarms read."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from packshot.ports import MetricSink
from packshot.status import Decision, Status

# Powertools' Logger for the service is this stdlib logger with a JSON formatter that carries the correlation id.
_log = logging.getLogger("packshot")
# States that mean "this image will not be delivered as is" at the stage that set them.
_NOT_DELIVERED = frozenset({Status.REJECTED, Status.REDO, Status.FAILED})


def emit_stage_metrics(metrics: MetricSink, stage: str, state: Mapping[str, Any], started: float) -> None:
    """Images, latency and the stage's own outcome; `started` is time.perf_counter() at the handler's start."""
    from aws_lambda_powertools.metrics import MetricUnit

    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    # One line per image and stage: ids, outcome and timing only - never tokens, URLs or pixels.
    _log.info("stage finished", extra={"stage": stage, "status": state.get("status"), "route": state.get("route"),
                                       "decision": state.get("decision"), "latency_ms": latency_ms})
    metrics.add_metric(name="ImagesProcessed", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="StageLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
    if state.get("status") in _NOT_DELIVERED:
        metrics.add_metric(name="ImagesRejected", unit=MetricUnit.Count, value=1)
    if stage == "classify" and state.get("route"):
        metrics.add_metric(name=f"Route{str(state['route']).title()}", unit=MetricUnit.Count, value=1)
    if stage == "finish" and "decision" in state:
        # QcScored and QcRejected (0 or 1) together make the reject rate that QcRejectRateAlarm watches.
        metrics.add_metric(name="QcScored", unit=MetricUnit.Count, value=1)
        rejected = state["decision"] == Decision.REJECT
        metrics.add_metric(name="QcRejected", unit=MetricUnit.Count, value=1 if rejected else 0)
        if state.get("qc_score") is not None:
            metrics.add_metric(name="QcScore", unit=MetricUnit.NoUnit, value=float(state["qc_score"]))
    if stage == "export" and state.get("status") == Status.EXPORTED:
        metrics.add_metric(name="ImagesExported", unit=MetricUnit.Count, value=1)


def review_backlog(requested_at: Iterable[str], now: datetime) -> tuple[int, float]:
    """(open reviews, age of the oldest in seconds) from the open tasks' ISO request times; (0, 0) when none."""
    times = [datetime.fromisoformat(t) for t in requested_at if t]
    if not times:
        return 0, 0.0
    return len(times), max(0.0, (now - min(times)).total_seconds())


def emit_review_backlog(metrics: MetricSink, count: int, oldest_age_s: float) -> None:
    """What ReviewBacklogCountAlarm and ReviewBacklogAgeAlarm watch; emitted even when zero, so the graph is real."""
    from aws_lambda_powertools.metrics import MetricUnit

    metrics.add_metric(name="ReviewBacklogCount", unit=MetricUnit.Count, value=count)
    metrics.add_metric(name="ReviewBacklogOldestAgeSeconds", unit=MetricUnit.Seconds, value=round(oldest_age_s, 1))
    _log.info("review backlog", extra={"open_reviews": count, "oldest_age_s": round(oldest_age_s, 1)})
