"""Execution ended: an execution that failed, timed out or was stopped leaves its image's record terminal."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from packshot import pipeline
from packshot.adapters.records import RecordsTable
from packshot.adapters.review import ReviewTable
from packshot.config import Settings

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="Packshot")
metrics.set_default_dimensions(Stage="execution_ended")
settings = Settings.from_env()
settings.require("records_table", "review_table")
records = RecordsTable(settings.records_table)
reviews = ReviewTable(settings.review_table)


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(correlation_id_path="detail.name")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Event: EventBridge's "Step Functions Execution Status Change" for FAILED, TIMED_OUT or ABORTED."""
    result = pipeline.close_ended_execution(dict(event.get("detail") or {}), records, reviews)
    if result["closed"]:
        metrics.add_metric(name="ImagesClosedByExecutionEnd", unit=MetricUnit.Count, value=1)
    logger.info("execution ended", extra=result)
    return result
