"""Human review, the state machine's side: put an image on the review list with the task token it waits on."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from packshot import bootstrap
from packshot.adapters.review import S3Presigner, StepFunctionsTokens
from packshot.review import ReviewService

# The event carries a task token: never log it (no log_event).
stage = bootstrap.stage("review", needs=("records_table", "work_bucket", "review_table"))
service = ReviewService(stage.reviews, stage.records, StepFunctionsTokens(), S3Presigner(stage.settings.work_bucket),
                        stage.store, stage.settings.work_bucket)


@stage.handler()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """lambda:Invoke by "Wait for a reviewer" only; no decision is ever taken here (see review_api)."""
    result = service.open_review(event)
    stage.metrics.add_metric(name="ReviewsOpened", unit=MetricUnit.Count, value=1)
    return result
