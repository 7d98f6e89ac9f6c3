"""Deliver: package a batch's exported images and manifests into one zip in the export bucket."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from packshot import pipeline
from packshot.adapters.records import RecordsTable
from packshot.adapters.s3 import S3Store
from packshot.config import Settings

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="Packshot")
metrics.set_default_dimensions(Stage="deliver")
settings = Settings.from_env()
settings.require("records_table", "export_bucket")
store = S3Store()
records = RecordsTable(settings.records_table)


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(correlation_id_path="batch")
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Event: {"batch": "<top-level folder>"}; returns the package's keys and counts."""
    result = pipeline.deliver(str(event.get("batch", "")), store, records, settings)
    metrics.add_metric(name="FilesDelivered", unit=MetricUnit.Count, value=result["files"])
    logger.info("delivered", extra=result)
    return result
