"""Duplicates: N uploads, each delivered 3 times (an SQS redelivery and S3 re-sending the notification) ->
exactly N executions, N records and one export set each. `python -m evidence.duplicates --n 100`."""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import Counter
from typing import Any

from evidence.common import (
    InjectedFault,
    embedded,
    exported_keys,
    print_json,
    product_photo,
    settle,
    shorten_redelivery,
    upload,
)
from packshot.status import Status


def run(aws: Any, n: int = 100, deliveries: int = 3) -> dict[str, Any]:
    """Upload n photos; fail ingest's first receive of each notification (SQS redelivers it), then send each
    notification again deliveries - 2 times (S3's at-least-once delivery). Returns counts and problems."""
    started = time.monotonic()
    shorten_redelivery(aws)
    ingest = aws.physical("IngestFunction")
    seen: dict[str, str] = {}
    lock = threading.Lock()

    def fail_first_receive(function_name: str, event: Any) -> None:
        if function_name != ingest:
            return
        fresh = []
        with lock:
            for record in event.get("Records", []):
                body = record.get("body", "")
                if "Records" in body and body not in seen.values():
                    seen[record["messageId"]] = body
                    fresh.append(record["messageId"])
        if fresh:
            raise InjectedFault(f"first receive of {len(fresh)} notifications fails on purpose")

    aws.runtime.fault_injector = fail_first_receive
    objects = {f"dup/photo-{i:04d}.jpg": product_photo(i) for i in range(n)}
    keys = upload(aws, objects)
    deadline = time.monotonic() + 120
    while len(seen) < n and time.monotonic() < deadline:
        time.sleep(0.2)
    sqs = aws.client("sqs")
    for body in list(seen.values()):
        for _ in range(deliveries - 2):
            sqs.send_message(QueueUrl=aws.physical("IngestQueue"), MessageBody=body)
    outcome = settle(aws, keys, started)
    aws.runtime.fault_injector = None

    names = [e["name"] for e in outcome.executions]
    if len(names) != n or len(set(names)) != n:
        outcome.problems.append(f"{len(names)} executions ({len(set(names))} distinct) for {n} uploads")
    if len(outcome.records) != n:
        outcome.problems.append(f"{len(outcome.records)} records for {n} uploads")
    versions = Counter(exported_keys(aws))
    expected = Counter(k for r in outcome.records.values() for k in (r.get("exports") or {}).values())
    if versions != expected:
        outcome.problems.append(f"export versions {dict(versions)} differ from one per recorded export")
    # A Lambda retry of a finished export (the same image and final) returns the first result, writing nothing.
    retried = _retry_one_export(aws, outcome.executions)
    if retried and Counter(exported_keys(aws)) != versions:
        outcome.problems.append("re-invoking a finished export wrote its files again")
    ingest_invokes = aws.runtime.invocations.get(ingest, 0)
    return {**outcome.summary(), "uploads": n, "deliveries_per_upload": deliveries,
            "notifications_captured": len(seen), "ingest_invocations": ingest_invokes,
            "export_files": sum(versions.values()), "export_retry_checked": retried}


def _retry_one_export(aws: Any, executions: list[dict[str, Any]]) -> bool:
    sfn = aws.client("stepfunctions")
    for execution in executions:
        output = json.loads(sfn.describe_execution(executionArn=execution["executionArn"]).get("output") or "{}")
        if output.get("status") == Status.EXPORTED and output.get("final_key"):
            resp = aws.client("lambda").invoke(FunctionName=aws.physical("ExportFunction"),
                                               Payload=json.dumps(output).encode())
            resp["Payload"].read()
            return True
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100)
    args = parser.parse_args()
    with embedded() as aws:
        result = run(aws, n=args.n)
    print_json(result)
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
