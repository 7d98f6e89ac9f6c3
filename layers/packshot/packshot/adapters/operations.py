"""Operator views and actions on a deployed (or embedded) stack: status, and redrive of dead letters."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StackNames:
    """The physical names `status` and `redrive` need, from CloudFormation or the embedded stack."""

    records_table: str
    queues: dict[str, str]  # logical id -> queue URL
    alarms: list[str] = field(default_factory=list)
    state_machine: str = ""  # the pipeline's ARN: `redrive` starts unfinished images on it

    @classmethod
    def from_cloudformation(cls, cfn: Any, stack: str) -> StackNames:
        resources: list[dict[str, Any]] = []
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack):
            resources.extend(page["StackResourceSummaries"])
        by_type: dict[str, dict[str, str]] = {}
        for r in resources:
            by_type.setdefault(r["ResourceType"], {})[r["LogicalResourceId"]] = r["PhysicalResourceId"]
        tables = by_type.get("AWS::DynamoDB::Table", {})
        return cls(records_table=tables.get("ImageRecordsTable", ""), queues=by_type.get("AWS::SQS::Queue", {}),
                   alarms=sorted(by_type.get("AWS::CloudWatch::Alarm", {}).values()),
                   state_machine=by_type.get("AWS::StepFunctions::StateMachine", {}).get("PipelineStateMachine", ""))


@dataclass
class Status:
    """Images by status, queue depths (dead-letter queues marked) and alarms with their states."""

    images: dict[str, int]
    queues: list[tuple[str, int, int, bool]]  # logical, visible, in flight, is a dead-letter queue
    alarms: list[tuple[str, str]]

    def lines(self) -> list[str]:
        out = ["images by status:"]
        out += [f"  {status:<22}{n:>8}" for status, n in sorted(self.images.items())] or ["  (none)"]
        out.append("queues (visible / in flight):")
        out += [f"  {name + (' (dead letters)' if dlq else ''):<40}{visible:>6} / {in_flight}"
                for name, visible, in_flight, dlq in self.queues]
        alarming = [a for a in self.alarms if a[1] == "ALARM"]
        out.append(f"alarms: {len(self.alarms)} ({len(alarming)} in ALARM)")
        out += [f"  {state:<18}{name}" for name, state in sorted(self.alarms, key=lambda a: (a[1] != "ALARM", a[0]))]
        return out


def dead_letter_sources(sqs: Any, queues: dict[str, str]) -> dict[str, str]:
    """Dead-letter queue URL -> the URL of the queue that sends to it, read from each queue's RedrivePolicy."""
    arns = {}
    policies = {}
    for url in queues.values():
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn", "RedrivePolicy"])["Attributes"]
        arns[attrs["QueueArn"]] = url
        if "RedrivePolicy" in attrs:
            policies[url] = json.loads(attrs["RedrivePolicy"])["deadLetterTargetArn"]
    return {arns[target]: source for source, target in policies.items() if target in arns}


def collect_status(names: StackNames, dynamodb: Any, sqs: Any, cloudwatch: Any) -> Status:
    counts: Counter[str] = Counter()
    if names.records_table:
        # Projected to the status only; a full scan is fine for an operator's look, not for a hot path.
        for page in dynamodb.get_paginator("scan").paginate(TableName=names.records_table, ProjectionExpression="#s",
                                                             ExpressionAttributeNames={"#s": "status"}):
            counts.update(item.get("status", {}).get("S", "?") for item in page["Items"])
    dlqs = set(dead_letter_sources(sqs, names.queues))
    queues = []
    for logical, url in sorted(names.queues.items()):
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        queues.append((logical, int(attrs["ApproximateNumberOfMessages"]),
                       int(attrs["ApproximateNumberOfMessagesNotVisible"]), url in dlqs))
    alarms: list[tuple[str, str]] = []
    for start in range(0, len(names.alarms), 100):
        resp = cloudwatch.describe_alarms(AlarmNames=names.alarms[start:start + 100])
        alarms += [(a["AlarmName"], a["StateValue"]) for a in resp["MetricAlarms"] + resp.get("CompositeAlarms", [])]
    return Status(images=dict(counts), queues=queues, alarms=alarms)


def redrive(sqs: Any, dead_letter_url: str, source_url: str, *, use_move_task: bool = True) -> str:
    """Move every message of a dead-letter queue back to its source queue; returns what was done.

    On AWS, SQS's own message move task does it (server side, rate-limited, resumable). Where that API is
    missing (moto, the embedded AWS), messages are received, sent to the source and only then deleted, so a crash
    midway duplicates a message at worst - which the pipeline deduplicates on the object - and never loses one.
    """
    if use_move_task:
        arn = sqs.get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        # Without a DestinationArn, SQS sends each message back to the queue it was dead-lettered from.
        task = sqs.start_message_move_task(SourceArn=arn)
        return f"move task {task.get('TaskHandle', '')[:16]}... started: SQS moves the messages back"
    moved = 0
    while True:
        messages = sqs.receive_message(QueueUrl=dead_letter_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                       MessageAttributeNames=["All"]).get("Messages", [])
        if not messages:
            return f"moved {moved} messages"
        for message in messages:
            extra = {"MessageAttributes": message["MessageAttributes"]} if message.get("MessageAttributes") else {}
            sqs.send_message(QueueUrl=source_url, MessageBody=message["Body"], **extra)
            sqs.delete_message(QueueUrl=dead_letter_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1


def open_review_times(dynamodb: Any, review_table: str) -> list[str]:
    """The request time of every open review task (the review table holds open tasks only)."""
    times: list[str] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=review_table, ProjectionExpression="requested_at"):
        times += [item["requested_at"]["S"] for item in page["Items"] if "S" in item.get("requested_at", {})]
    return times
