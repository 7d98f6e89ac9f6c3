"""Export: one verified file per platform in the export bucket."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from packshot import bootstrap, pipeline
from packshot.stages import export

stage = bootstrap.stage("export", needs=("records_table", "work_bucket", "export_bucket"))
# Exactly-once effect: a retried invoke of an export that already finished returns its first result instead of
# rendering and writing again. Keyed on the image and its final, so a re-finished image (a reviewer's fix) exports anew.
persistence = DynamoDBPersistenceLayer(table_name=stage.settings.idempotency_table)
idempotency = IdempotencyConfig(event_key_jmespath="[image_id, final_key]", raise_on_no_idempotency_key=True)


@stage.handler(correlation_id_path="image_id")
@idempotent(config=idempotency, persistence_store=persistence)
def lambda_handler(event: pipeline.PipelineState, context: LambdaContext) -> dict[str, Any]:
    started = time.perf_counter()
    return stage.finished(export.run(event, stage.store, stage.records, stage.settings), started)
