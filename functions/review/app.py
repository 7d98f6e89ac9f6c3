"""Human review, the state machine's side: put an image on the review list with the task token it waits on."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from packshot.adapters.records import RecordsTable
from packshot.adapters.review import ReviewTable, S3Presigner, StepFunctionsTokens
from packshot.adapters.s3 import S3Store
from packshot.config import Settings
from packshot.review import ReviewService

# The event carries a task token: never log it (no log_event).
logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="Packshot")
metrics.set_default_dimensions(Stage="review")
settings = Settings.from_env()
settings.require("records_table", "work_bucket", "review_table")
service = ReviewService(ReviewTable(settings.review_table), RecordsTable(settings.records_table),
                        StepFunctionsTokens(), S3Presigner(settings.work_bucket), S3Store(), settings.work_bucket)


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """lambda:Invoke by "Wait for a reviewer" only; no decision is ever taken here (see review_api)."""
    result = service.open_review(event)
    metrics.add_metric(name="ReviewsOpened", unit=MetricUnit.Count, value=1)
    return result
