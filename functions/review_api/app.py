"""Human review, the reviewers' side: the review API behind an IAM-authenticated Function URL.

The reviewer is the caller AWS verified (requestContext.authorizer.iam), never a field of the request.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from packshot import bootstrap
from packshot.adapters.review import S3Presigner, StepFunctionsTokens
from packshot.errors import ReviewError
from packshot.review import ReviewService, http_response, http_status

# Answers carry presigned URLs: never log the event or the result.
stage = bootstrap.stage("review_api", needs=("records_table", "work_bucket", "review_table"))
settings = stage.settings
service = ReviewService(stage.reviews, stage.records, StepFunctionsTokens(), S3Presigner(settings.work_bucket),
                        stage.store, settings.work_bucket, max_pixels=settings.max_pixels,
                        max_bytes=settings.max_object_bytes)


@stage.handler()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        result = service.handle_http(event)
    except ReviewError as exc:
        return http_response(http_status(exc), {"error": type(exc).__name__, "reason": exc.reason})
    if "decision" in result:
        stage.metrics.add_metric(name="ReviewDecisions", unit=MetricUnit.Count, value=1)
    return http_response(200, result)
