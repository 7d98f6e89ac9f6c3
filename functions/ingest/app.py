"""Ingest: S3 notifications from SQS -> one Step Functions execution per uploaded object."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from packshot import bootstrap
from packshot.adapters.executions import PipelineStarter
from packshot.events import MalformedEventError, parse_s3_notification
from packshot.manifest import is_manifest_key
from packshot.pipeline import record_rejection, start_pipeline

# Its metrics (ImagesReceived, DuplicateDeliveries, ManifestsReceived) carry no Stage dimension.
stage = bootstrap.stage("ingest", needs=("records_table", "state_machine_arn", "input_bucket"), stage_dimension=False)
processor = BatchProcessor(event_type=EventType.SQS)
starter = PipelineStarter(stage.settings.state_machine_arn)


def handle_message(record: SQSRecord) -> None:
    message = record
    try:
        notification = parse_s3_notification(message.body, stage.settings.input_bucket)
    except MalformedEventError as exc:
        # Retrying cannot fix the body: keep a terminal record of it and acknowledge the message.
        _reject_message(message.message_id, [exc.reason])
        return
    if notification.problems:
        # The records that name an object still go ahead; the ones that cannot are on this record.
        _reject_message(message.message_id, notification.problems)
    for ref in notification.refs:
        if is_manifest_key(ref.key):
            # A batch manifest describes the photos beside it and is read by pre-processing: not an image.
            stage.logger.info("manifest received", extra={"key": ref.key})
            stage.metrics.add_metric(name="ManifestsReceived", unit=MetricUnit.Count, value=1)
            continue
        started = start_pipeline(ref, stage.records, starter)
        stage.logger.info("object received", extra={"image_id": ref.image_id, "key": ref.key, "started": started})
        stage.metrics.add_metric(name="ImagesReceived" if started else "DuplicateDeliveries",
                                 unit=MetricUnit.Count, value=1)


def _reject_message(message_id: str, reasons: list[str]) -> None:
    record_rejection(f"msg-{message_id}", reasons, stage.records)
    stage.logger.warning("malformed message", extra={"message_id": message_id, "reasons": reasons})


@stage.handler()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(event=event, record_handler=handle_message, processor=processor,
                                        context=context)
    return dict(response)
