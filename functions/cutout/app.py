"""Automated cutout: ONNX background removal at full resolution, with a confidence for QC."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from packshot import bootstrap, pipeline
from packshot.adapters.model_files import resolve_model_file
from packshot.models.catalog import FAMILIES, BorrowedGate
from packshot.models.registry import default_path_for, load_model
from packshot.stages import cutout

# No Powertools Tracer here: it imports the X-Ray SDK, whose sampler builds a botocore X-Ray client at import,
# 0.3-0.5 s of this function's cold start (the heaviest init of the pipeline: onnxruntime and the model session
# come on top). Lambda's active tracing still records this function's init and invocation segments.
stage = bootstrap.stage("cutout", needs=("records_table", "work_bucket"), tracing=False)
settings = stage.settings
# Once per execution environment: the file baked into the image, or MODEL_PATH=s3://... downloaded to /tmp and
# verified by checksum (reused from there if this module is loaded again), then one session.
model_file = resolve_model_file(
    settings.model_path or default_path_for(settings.model_name),
    expected_sha256=settings.model_sha256,
    cache_dir=Path(settings.model_cache_dir),
)
# "location" is a key of Powertools' own log record (file:line): the model's is logged as model_location.
stage.logger.info("model file ready", extra={"model": settings.model_name, "model_location": model_file.location,
                                             "sha256": model_file.sha256, "downloaded": model_file.downloaded})
model = load_model(settings.model_name, model_file.path, threads=settings.model_threads)
# The gate's bar was fitted on one family's cutouts (catalog.py): say when this one borrows it, and why.
calibration = FAMILIES[settings.model_name].calibration
if isinstance(calibration, BorrowedGate):
    stage.logger.warning("the auto-approval gate was fitted on another model", extra={
        "model": settings.model_name, "gate_fitted_on": calibration.family, "why_acceptable": calibration.reason})


@stage.handler(correlation_id_path="image_id")
def lambda_handler(event: pipeline.PipelineState, context: LambdaContext) -> dict[str, Any]:
    started = time.perf_counter()
    return stage.finished(cutout.run(event, stage.store, stage.records, settings, model), started)
