"""Finishing: crop to 85% fill on pure white, verify the background, score QC and route by it."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from packshot import pipeline
from packshot.adapters.records import RecordsTable
from packshot.adapters.s3 import S3Store
from packshot.config import Settings
from packshot.observability import emit_stage_metrics

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="Packshot")
metrics.set_default_dimensions(Stage="finish")
settings = Settings.from_env()
settings.require("records_table", "work_bucket")
store = S3Store()
records = RecordsTable(settings.records_table)


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(correlation_id_path="image_id")
def lambda_handler(event: pipeline.PipelineState, context: LambdaContext) -> dict[str, Any]:
    started = time.perf_counter()
    state = pipeline.finish(event, store, records, settings)
    emit_stage_metrics(metrics, "finish", state, started)
    return dict(state)
