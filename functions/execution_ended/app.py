"""Execution ended: an execution that failed, timed out or was stopped leaves its image's record terminal."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from packshot import bootstrap, pipeline

stage = bootstrap.stage("execution_ended", needs=("records_table", "review_table"))


@stage.handler(correlation_id_path="detail.name")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Event: EventBridge's "Step Functions Execution Status Change" for FAILED, TIMED_OUT or ABORTED."""
    result = pipeline.close_ended_execution(dict(event.get("detail") or {}), stage.records, stage.reviews)
    if result["closed"]:
        stage.metrics.add_metric(name="ImagesClosedByExecutionEnd", unit=MetricUnit.Count, value=1)
    stage.logger.info("execution ended", extra=result)
    return result
