"""Ingest on the embedded AWS: a message that cannot name an image is acknowledged with a rejected record."""

from __future__ import annotations

import json
import time

from packshot.adapters.records import RecordsTable
from tests.integration.test_handlers import invoke, load_event

POISON_BODIES = [
    '{"Records":[1]}',
    '{"Records":[null]}',
    '{"Records":["ObjectCreated:Put"]}',
    '{"Records":[{"eventName":"ObjectCreated:Put","s3":[]}]}',
    '{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":null,"eTag":"e"}}}]}',
    '{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"","eTag":"e"}}}]}',
    '{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k.jpg"}}}]}',
    '{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":"b","object":{"key":"k.jpg","eTag":"e"}}}]}',
    '{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k","size":"big",'
    '"eTag":"e"}}}]}',
    '{"Records":{"0":{}}}',
    '{"Records":[{"junk":"' + "x" * 200_000 + '"}]}',
    '{"Records":[{"eventName":5,"s3":{}}]}',
    # Well formed, but for a bucket that is not ours (anyone with sqs:SendMessage could send it).
    '{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"someone-elses-bucket"},'
    '"object":{"key":"k.jpg","eTag":"e"}}}]}',
    # A key S3 could never have sent (at most 1,024 bytes): its state would not fit Step Functions.
    '{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"packshot-local-input-123456789012-'
    'us-east-1"},"object":{"key":"' + "k" * 200_000 + '","eTag":"e"}}}]}',
    '[1, 2, 3]',
    '"just a string"',
    'null',
]


def sqs_event(message_id: str, body: str) -> dict:
    record = dict(load_event("ingest")["Records"][0])
    return {"Records": [{**record, "messageId": message_id, "body": body}]}


def test_a_poison_message_is_acknowledged_with_a_rejected_message_record_not_sent_towards_the_dead_letter_queue(
        embedded_without_event_sources) -> None:
    aws = embedded_without_event_sources
    table = RecordsTable(aws.records_table, aws.client("dynamodb"))

    for number, body in enumerate(POISON_BODIES):
        result = invoke(aws, "IngestFunction", sqs_event(f"poison-{number}", body))

        # Nothing left for SQS to redeliver, so nothing reaches the dead-letter queue.
        assert result == {"batchItemFailures": []}, body[:80]
        record = table.get(f"msg-poison-{number}")
        assert record is not None and record["status"] == "rejected", (body[:80], record)
        assert record["reasons"] and all(isinstance(r, str) and 0 < len(r) <= 500 for r in record["reasons"])
    assert aws.executions() == []


def test_one_bad_record_does_not_cost_the_good_record_beside_it_in_the_same_message(
        embedded_without_event_sources) -> None:
    aws = embedded_without_event_sources
    good = json.loads(load_event("ingest")["Records"][0]["body"])["Records"][0]
    body = json.dumps({"Records": [1, good]})

    result = invoke(aws, "IngestFunction", sqs_event("mixed-1", body))

    assert result == {"batchItemFailures": []}
    table = RecordsTable(aws.records_table, aws.client("dynamodb"))
    assert table.get("msg-mixed-1")["status"] == "rejected"
    assert len(aws.executions()) == 1
    # Let that execution end here: moto's interpreter threads outlive the embedded AWS and would write into the
    # next test's table.
    deadline = time.monotonic() + 120
    while any(e["status"] == "RUNNING" for e in aws.executions()) and time.monotonic() < deadline:
        time.sleep(0.3)
