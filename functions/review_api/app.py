"""Human review, the reviewers' side: the review API behind an IAM-authenticated Function URL.

The reviewer is the caller AWS verified (requestContext.authorizer.iam), never a field of the request.
"""

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
from packshot.review import ReviewService, http_response, http_status

# Answers carry presigned URLs: never log the event or the result.
logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="Packshot")
metrics.set_default_dimensions(Stage="review_api")
settings = Settings.from_env()
settings.require("records_table", "work_bucket", "review_table")
service = ReviewService(ReviewTable(settings.review_table), RecordsTable(settings.records_table),
                        StepFunctionsTokens(), S3Presigner(settings.work_bucket), S3Store(), settings.work_bucket,
                        max_pixels=settings.max_pixels, max_bytes=settings.max_object_bytes)


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        result = service.handle_http(event)
    except ReviewError as exc:
        return http_response(http_status(exc), {"error": type(exc).__name__, "reason": exc.reason})
    if "decision" in result:
        metrics.add_metric(name="ReviewDecisions", unit=MetricUnit.Count, value=1)
    return http_response(200, result)
