"""Classification: edge complexity and colour risk decide the route (simple / medium / complex)."""

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
metrics.set_default_dimensions(Stage="classify")
settings = Settings.from_env()
settings.require("records_table", "work_bucket")
store = S3Store()
records = RecordsTable(settings.records_table)


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(correlation_id_path="image_id")
def lambda_handler(event: pipeline.PipelineState, context: LambdaContext) -> dict[str, Any]:
    state = pipeline.classify(event, store, records, settings)
    metrics.add_metric(name="ImagesProcessed", unit=MetricUnit.Count, value=1)
    return dict(state)
