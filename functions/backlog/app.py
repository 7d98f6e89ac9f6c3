"""Review backlog: every five minutes, how many images wait for a person and for how long (EMF metrics)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from packshot import bootstrap
from packshot.adapters.aws import client
from packshot.adapters.operations import open_review_times
from packshot.observability import emit_review_backlog, review_backlog

# ReviewBacklogCountAlarm and ReviewBacklogAgeAlarm read these metrics by service alone: no Stage dimension.
stage = bootstrap.stage("backlog", needs=("review_table",), stage_dimension=False)


@stage.handler()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    count, oldest = review_backlog(open_review_times(client("dynamodb"), stage.settings.review_table),
                                   datetime.now(UTC))
    emit_review_backlog(stage.metrics, count, oldest)
    return {"open_reviews": count, "oldest_age_s": oldest}
