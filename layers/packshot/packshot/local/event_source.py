"""What Lambda's SQS event source mapping and an EventBridge rule do on AWS, for the embedded AWS.

moto's own SQS trigger fires synchronously on send and never retries a failed batch, so it cannot show what
AWS does with a failing message. This poller does what the AWS service does: long-poll, invoke with a batch,
delete what succeeded (ReportBatchItemFailures), and leave the rest to reappear after the visibility timeout
until the queue's redrive policy moves it to the dead-letter queue.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus


@dataclass(frozen=True)
class SqsMapping:
    """One `Events: Type: SQS` entry of a function in the template."""

    function_name: str
    queue_url: str
    queue_arn: str
    batch_size: int
    report_batch_item_failures: bool


class SqsPoller(threading.Thread):
    """Polls one queue for one function until stopped."""

    def __init__(self, mapping: SqsMapping, sqs: Any, lambda_client: Any, s3: Any | None = None) -> None:
        super().__init__(name=f"sqs-poller-{mapping.function_name}", daemon=True)
        self.mapping = mapping
        self._sqs = sqs
        self._lambda = lambda_client
        self._s3 = s3
        self._stop_event = threading.Event()
        self.in_flight = 0
        self.batches = 0

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.poll_once(wait_seconds=1)
            except Exception:  # noqa: BLE001 - the AWS poller never dies; neither does ours
                if self._stop_event.wait(0.5):
                    return

    def poll_once(self, wait_seconds: int = 0) -> int:
        """Receive one batch and invoke the function with it; returns how many messages it received."""
        resp = self._sqs.receive_message(
            QueueUrl=self.mapping.queue_url,
            MaxNumberOfMessages=min(self.mapping.batch_size, 10),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = resp.get("Messages", [])
        if not messages:
            return 0
        self.in_flight = len(messages)
        try:
            event = {"Records": [self._lambda_record(m) for m in messages]}
            result = self._lambda.invoke(FunctionName=self.mapping.function_name, Payload=json.dumps(event))
            payload = json.loads(result["Payload"].read() or b"null")
            if result.get("FunctionError"):
                return len(messages)  # the whole batch reappears after the visibility timeout
            failed = set()
            if self.mapping.report_batch_item_failures and isinstance(payload, dict):
                failed = {f["itemIdentifier"] for f in payload.get("batchItemFailures", [])}
            done = [m for m in messages if m["MessageId"] not in failed]
            for start in range(0, len(done), 10):
                self._sqs.delete_message_batch(
                    QueueUrl=self.mapping.queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in
                             enumerate(done[start:start + 10])],
                )
            self.batches += 1
            return len(messages)
        finally:
            self.in_flight = 0

    def _lambda_record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": with_version_ids(message["Body"], self._s3) if self._s3 is not None else message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.mapping.queue_arn,
            "awsRegion": "us-east-1",
        }


def with_version_ids(body: str, s3: Any) -> str:
    """The notification as S3 itself writes it: with the upload's versionId on a versioned bucket.

    moto leaves versionId out. Without it a notification could only name "the key, whatever it holds now", and an
    upload overwritten in flight would be read as the newer bytes. The version is the oldest one of the key whose
    ETag is the notification's: the same notification always maps to the same version (a re-delivery stays a
    duplicate), and two uploads with different bytes map to their own versions. Anything else passes unchanged.
    """
    try:
        message = json.loads(body)
        records = message["Records"]
    except (ValueError, TypeError, KeyError):
        return body
    changed = False
    for record in records if isinstance(records, list) else []:
        try:
            obj, bucket = record["s3"]["object"], record["s3"]["bucket"]["name"]
            key, etag = unquote_plus(obj["key"]), obj["eTag"]
        except (KeyError, TypeError):
            continue
        if obj.get("versionId"):
            continue
        try:
            listed = s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
        except Exception:  # noqa: BLE001 - no bucket, no versions: the notification stays as moto wrote it
            continue
        # Newest first: the last match is the oldest version with these bytes.
        matches = [v for v in listed if v["Key"] == key and v["ETag"].strip('"') == etag
                   and v.get("VersionId") not in (None, "null")]
        if matches:
            obj["versionId"] = matches[-1]["VersionId"]
            changed = True
    return json.dumps(message) if changed else body


# The only EventBridge events the template subscribes to; moto's Step Functions emits none, so they are made here.
EXECUTION_STATUS_CHANGE = "Step Functions Execution Status Change"


@dataclass(frozen=True)
class ExecutionRule:
    """One `Events: Type: EventBridgeRule` of a function on the state machine's execution status changes."""

    function_name: str
    state_machine_arns: tuple[str, ...]
    statuses: frozenset[str]
    dead_letter_url: str = ""


def execution_rule(function_name: str, pattern: dict[str, Any], dead_letter_url: str = "") -> ExecutionRule:
    """The rule for a pattern on aws.states status changes; anything else is refused, not silently ignored."""
    detail = pattern.get("detail", {})
    if pattern.get("source") != ["aws.states"] or pattern.get("detail-type") != [EXECUTION_STATUS_CHANGE] or \
            set(detail) - {"stateMachineArn", "status"} or set(pattern) - {"source", "detail-type", "detail"}:
        raise ValueError(f"{function_name}: the embedded runner emulates EventBridge rules on Step Functions "
                         f"execution status changes only (source, detail-type, detail.stateMachineArn/status): "
                         f"{pattern}")
    return ExecutionRule(function_name, tuple(detail.get("stateMachineArn", [])),
                         frozenset(detail.get("status", [])), dead_letter_url)


class ExecutionStatusWatcher(threading.Thread):
    """Sends the rule's function an EventBridge event for each execution that ends in one of its statuses.

    Asynchronous invoke semantics, as on AWS: two retries after a function error, then the dead-letter queue.
    """

    def __init__(self, rule: ExecutionRule, sfn: Any, lambda_client: Any, sqs: Any) -> None:
        super().__init__(name=f"execution-events-{rule.function_name}", daemon=True)
        self.rule = rule
        self._sfn, self._lambda, self._sqs = sfn, lambda_client, sqs
        self._stop_event = threading.Event()
        self._seen: set[str] = set()
        self.delivered = 0

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        while not self._stop_event.wait(0.5):
            try:
                self.poll_once()
            except Exception:  # noqa: BLE001 - EventBridge keeps going; so does the emulation
                continue

    def poll_once(self) -> int:
        sent = 0
        for arn in self.rule.state_machine_arns:
            for page in self._sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
                for execution in page["executions"]:
                    if execution["executionArn"] in self._seen or execution["status"] not in self.rule.statuses:
                        continue
                    self._seen.add(execution["executionArn"])
                    self._deliver(self._event(execution["executionArn"]))
                    sent += 1
        return sent

    def _event(self, execution_arn: str) -> dict[str, Any]:
        described = self._sfn.describe_execution(executionArn=execution_arn)
        detail = {k: described.get(k) for k in ("executionArn", "stateMachineArn", "name", "status", "input",
                                                "output", "error", "cause")}
        for k in ("startDate", "stopDate"):
            if isinstance(described.get(k), datetime):
                detail[k] = int(described[k].timestamp() * 1000)
        return {"version": "0", "id": str(uuid.uuid4()), "detail-type": EXECUTION_STATUS_CHANGE,
                "source": "aws.states", "account": execution_arn.split(":")[4],
                "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "region": execution_arn.split(":")[3],
                "resources": [execution_arn], "detail": detail}

    def _deliver(self, event: dict[str, Any]) -> None:
        body = json.dumps(event, default=str)
        for _ in range(3):  # the first try and Lambda's two retries of an asynchronous invoke
            result = self._lambda.invoke(FunctionName=self.rule.function_name, Payload=body)
            result["Payload"].read()
            if not result.get("FunctionError"):
                self.delivered += 1
                return
        if self.rule.dead_letter_url:
            self._sqs.send_message(QueueUrl=self.rule.dead_letter_url, MessageBody=body)
