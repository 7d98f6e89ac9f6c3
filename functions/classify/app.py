"""Classification: edge complexity and colour risk decide the route (simple / medium / complex)."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from packshot import bootstrap, pipeline
from packshot.stages import classify

stage = bootstrap.stage("classify", needs=("records_table", "work_bucket"))


@stage.handler(correlation_id_path="image_id")
def lambda_handler(event: pipeline.PipelineState, context: LambdaContext) -> dict[str, Any]:
    started = time.perf_counter()
    return stage.finished(classify.run(event, stage.store, stage.records, stage.settings), started)
