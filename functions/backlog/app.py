"""Review backlog: every five minutes, how many images wait for a person and for how long (EMF metrics)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from packshot.adapters.aws import client
from packshot.adapters.operations import open_review_times
from packshot.config import Settings
from packshot.observability import emit_review_backlog, review_backlog

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="Packshot")
settings = Settings.from_env()
settings.require("review_table")


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    count, oldest = review_backlog(open_review_times(client("dynamodb"), settings.review_table),
                                   datetime.now(UTC))
    emit_review_backlog(metrics, count, oldest)
    return {"open_reviews": count, "oldest_age_s": oldest}
