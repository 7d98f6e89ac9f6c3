"""Deliver: package a batch's exported images and manifests into one zip in the export bucket."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from packshot import bootstrap
from packshot.stages import deliver

stage = bootstrap.stage("deliver", needs=("records_table", "export_bucket"))


@stage.handler(correlation_id_path="batch")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Event: {"batch": "<top-level folder>"}; returns the package's keys and counts."""
    result = deliver.run(str(event.get("batch", "")), stage.store, stage.records, stage.settings)
    stage.metrics.add_metric(name="FilesDelivered", unit=MetricUnit.Count, value=result["files"])
    stage.logger.info("delivered", extra=result)
    return result
