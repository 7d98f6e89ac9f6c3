"""Automated cutout: ONNX background removal at full resolution, with a confidence for QC."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from packshot import pipeline
from packshot.adapters.model_files import resolve_model_file
from packshot.adapters.records import RecordsTable
from packshot.adapters.s3 import S3Store
from packshot.config import Settings
from packshot.models.registry import default_path_for, load_model
from packshot.observability import emit_stage_metrics

logger = Logger()
# No Powertools Tracer here: it imports the X-Ray SDK, whose sampler builds a botocore X-Ray client at import,
# 0.3-0.5 s of this function's cold start (the heaviest init of the pipeline: onnxruntime and the model session
# come on top). Lambda's active tracing still records this function's init and invocation segments.
metrics = Metrics(namespace="Packshot")
metrics.set_default_dimensions(Stage="cutout")
settings = Settings.from_env()
settings.require("records_table", "work_bucket")
store = S3Store()
records = RecordsTable(settings.records_table)
# Once per execution environment: the file baked into the image, or MODEL_PATH=s3://... downloaded to /tmp and
# verified by checksum (reused from there if this module is loaded again), then one session.
model_file = resolve_model_file(
    settings.model_path or default_path_for(settings.model_name),
    expected_sha256=settings.model_sha256,
    cache_dir=Path(settings.model_cache_dir),
)
logger.info("model file ready", extra={"model": settings.model_name, "location": model_file.location,
                                       "sha256": model_file.sha256, "downloaded": model_file.downloaded})
model = load_model(settings.model_name, model_file.path, threads=settings.model_threads)


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path="image_id")
def lambda_handler(event: pipeline.PipelineState, context: LambdaContext) -> dict[str, Any]:
    started = time.perf_counter()
    state = pipeline.cut_out(event, store, records, settings, model)
    emit_stage_metrics(metrics, "cutout", state, started)
    return dict(state)
