"""Finishing: crop to 85% fill on pure white, verify the background, score QC and route by it."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from packshot import bootstrap, pipeline
from packshot.stages import finish

stage = bootstrap.stage("finish", needs=("records_table", "work_bucket"))


@stage.handler(correlation_id_path="image_id")
def lambda_handler(event: pipeline.PipelineState, context: LambdaContext) -> dict[str, Any]:
    started = time.perf_counter()
    return stage.finished(finish.run(event, stage.store, stage.records, stage.settings), started)
