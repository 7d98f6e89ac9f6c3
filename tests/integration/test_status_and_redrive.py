"""`packshot status` and `packshot redrive` on the embedded AWS: what an operator sees and how dead letters go back."""

from __future__ import annotations

import json

from packshot.adapters.operations import StackNames, collect_status, dead_letter_sources, redrive
from packshot.cli import embedded_status


def test_status_shows_images_by_status_queue_depths_with_dead_letters_and_every_alarm(
        embedded_without_event_sources) -> None:
    aws = embedded_without_event_sources
    aws.client("sqs").send_message(QueueUrl=aws.physical("IngestDeadLetterQueue"), MessageBody="{}")

    status = embedded_status(aws)

    queues = {name: (visible, dlq) for name, visible, _, dlq in status.queues}
    assert queues["IngestDeadLetterQueue"] == (1, True)
    assert queues["IngestQueue"][1] is False
    assert len(status.alarms) == len(aws.stack.of_type("AWS::CloudWatch::Alarm"))
    text = "\n".join(status.lines())
    assert "IngestDeadLetterQueue (dead letters)" in text and "alarms:" in text


def test_redrive_moves_every_dead_letter_back_to_its_source_queue(
        embedded_without_event_sources) -> None:
    aws = embedded_without_event_sources
    sqs = aws.client("sqs")
    dead, source = aws.physical("IngestDeadLetterQueue"), aws.physical("IngestQueue")
    already = int(sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"])  # S3's test event from setting up the notification
    for i in range(13):  # more than one receive batch
        sqs.send_message(QueueUrl=dead, MessageBody=json.dumps({"n": i}))
    names = StackNames(records_table=aws.records_table, queues={"IngestQueue": source, "IngestDeadLetterQueue": dead})

    assert dead_letter_sources(sqs, names.queues) == {dead: source}
    assert redrive(sqs, dead, source, use_move_task=False) == "moved 13 messages"

    depths = {name: visible for name, visible, _, _ in collect_status(
        names, aws.client("dynamodb"), sqs, aws.client("cloudwatch")).queues}
    assert depths == {"IngestQueue": already + 13, "IngestDeadLetterQueue": 0}
    bodies = []
    while got := sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10).get("Messages", []):
        bodies += [json.loads(m["Body"])["n"] for m in got if "n" in json.loads(m["Body"])]
    assert sorted(bodies) == list(range(13))
