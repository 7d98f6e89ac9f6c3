"""Ingest: S3 notifications from SQS -> one Step Functions execution per uploaded object."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from packshot.adapters.executions import PipelineStarter
from packshot.adapters.records import RecordsTable
from packshot.config import Settings
from packshot.events import MalformedEventError, parse_s3_notification
from packshot.manifest import is_manifest_key
from packshot.pipeline import record_rejection, start_pipeline

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="Packshot")
processor = BatchProcessor(event_type=EventType.SQS)
settings = Settings.from_env()
settings.require("records_table", "state_machine_arn", "input_bucket")
records = RecordsTable(settings.records_table)
starter = PipelineStarter(settings.state_machine_arn)


def handle_message(record: SQSRecord) -> None:
    message = record
    try:
        notification = parse_s3_notification(message.body, settings.input_bucket)
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
            logger.info("manifest received", extra={"key": ref.key})
            metrics.add_metric(name="ManifestsReceived", unit=MetricUnit.Count, value=1)
            continue
        started = start_pipeline(ref, records, starter)
        logger.info("object received", extra={"image_id": ref.image_id, "key": ref.key, "started": started})
        metrics.add_metric(name="ImagesReceived" if started else "DuplicateDeliveries", unit=MetricUnit.Count,
                           value=1)


def _reject_message(message_id: str, reasons: list[str]) -> None:
    record_rejection(f"msg-{message_id}", reasons, records)
    logger.warning("malformed message", extra={"message_id": message_id, "reasons": reasons})


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(event=event, record_handler=handle_message, processor=processor,
                                        context=context)
    return dict(response)
