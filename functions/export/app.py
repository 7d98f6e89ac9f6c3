"""Export: one verified file per platform in the export bucket."""

from __future__ import annotations

import os
import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from packshot import pipeline
from packshot.adapters.records import RecordsTable
from packshot.adapters.s3 import S3Store
from packshot.config import Settings
from packshot.observability import emit_stage_metrics

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="Packshot")
metrics.set_default_dimensions(Stage="export")
settings = Settings.from_env()
settings.require("records_table", "work_bucket", "export_bucket")
store = S3Store()
records = RecordsTable(settings.records_table)
# Exactly-once effect: a retried invoke of an export that already finished returns its first result instead of
# rendering and writing again. Keyed on the image and its final, so a re-finished image (a reviewer's fix) exports anew.
persistence = DynamoDBPersistenceLayer(table_name=os.environ.get("IDEMPOTENCY_TABLE", ""))
idempotency = IdempotencyConfig(event_key_jmespath="[image_id, final_key]", raise_on_no_idempotency_key=True)


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context(correlation_id_path="image_id")
@idempotent(config=idempotency, persistence_store=persistence)
def lambda_handler(event: pipeline.PipelineState, context: LambdaContext) -> dict[str, Any]:
    started = time.perf_counter()
    state = pipeline.export(event, store, records, settings)
    emit_stage_metrics(metrics, "export", state, started)
    return dict(state)
