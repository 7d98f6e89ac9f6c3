"""Human review: the state machine's review list (with task tokens) and the reviewers' IAM-authenticated API."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from packshot.adapters.records import RecordsTable
from packshot.adapters.review import ReviewTable, S3Presigner, StepFunctionsTokens
from packshot.adapters.s3 import S3Store
from packshot.config import Settings
from packshot.errors import ReviewError
from packshot.review import ReviewService, command_from_http, http_response, http_status

# The event carries task tokens and the answers carry presigned URLs: never log either (no log_event).
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
    if "requestContext" in event:  # the Function URL: SigV4-signed HTTP; enqueue is not reachable this way
        try:
            result = service.handle(command_from_http(event))
        except ReviewError as exc:
            return http_response(http_status(exc), {"error": type(exc).__name__, "reason": exc.reason})
        return http_response(200, result)
    result = service.handle(event)  # lambda:Invoke: the state machine (enqueue) or `packshot review`
    counted = {"enqueue": "ReviewsOpened", "decide": "ReviewDecisions"}.get(str(event.get("op")))
    if counted:
        metrics.add_metric(name=counted, unit=MetricUnit.Count, value=1)
    return result
