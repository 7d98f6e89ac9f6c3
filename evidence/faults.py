"""Faults: transient S3, DynamoDB, Step Functions and Lambda errors injected at 10% -> every valid image finishes,
no duplicates. `python -m evidence.faults --n 20 --rate 0.1`."""

from __future__ import annotations

import argparse
import random
import threading
import time
from collections import Counter
from typing import Any

from evidence.common import (
    INJECTED,
    embedded,
    exported_versions,
    print_json,
    product_photo,
    settle,
    shorten_redelivery,
    upload,
)
from packshot.errors import TransientStorageError
from packshot.status import Status


class _Raw:
    """The raw body botocore reads from an injected response."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


class FaultPlan:
    """Throws throttling errors at a rate: into the handlers' own AWS clients and into Lambda invokes."""

    def __init__(self, rate: float, seed: int = 10) -> None:
        self.rate = rate
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()

    def _roll(self, what: str) -> bool:
        with self._lock:
            hit = self._rng.random() < self.rate
            if hit:
                self.injected[what] += 1
            return hit

    def before_send(self, request: Any, **_: Any) -> Any:
        """botocore `before-send` hook: answers a request with a throttling error instead of sending it.

        The error goes through botocore's own retry handling (standard mode, as in Lambda), then through the
        adapters' TransientStorageError and the state machine's Retry - the same path a real throttle takes.
        """
        from botocore.awsrequest import AWSResponse

        json_protocol = "x-amz-target" in {k.lower() for k in request.headers}
        target = next((v for k, v in request.headers.items() if k.lower() == "x-amz-target"), b"")
        name = (target.decode() if isinstance(target, bytes) else str(target)).split(".")[-1]
        if not self._roll(f"{name.split('_')[0]}:{name}" if json_protocol else f"s3:{request.method}"):
            return None
        body = (b'{"__type":"ThrottlingException","message":"' + INJECTED.encode() + b' throttled"}' if json_protocol
                else b"<Error><Code>SlowDown</Code><Message>" + INJECTED.encode() + b" slow down</Message></Error>")
        return AWSResponse(request.url, 503, {"Content-Type": "application/x-amz-json-1.0" if json_protocol
                                              else "application/xml"}, _Raw(body))

    def lambda_fault(self, function_name: str, event: Any) -> None:
        """The runtime's fault hook: the invoke fails as a Lambda service hiccup would (retried by the caller)."""
        if self._roll(f"lambda:{function_name.rsplit('-', 1)[-1]}"):
            raise TransientStorageError(f"{INJECTED} Lambda invoke of {function_name} failed")


def install(aws: Any, plan: FaultPlan) -> None:
    from packshot.adapters.aws import client

    # The handlers share these cached clients (module scope in Lambda terms): hook them, not the test's own.
    for service in ("s3", "dynamodb", "stepfunctions"):
        client(service).meta.events.register("before-send", plan.before_send)
    aws.runtime.fault_injector = plan.lambda_fault


def uninstall(aws: Any, plan: FaultPlan) -> None:
    from packshot.adapters.aws import client

    for service in ("s3", "dynamodb", "stepfunctions"):
        client(service).meta.events.unregister("before-send", plan.before_send)
    aws.runtime.fault_injector = None


def run(aws: Any, n: int = 20, rate: float = 0.1, seed: int = 10) -> dict[str, Any]:
    started = time.monotonic()
    shorten_redelivery(aws)
    plan = FaultPlan(rate, seed)
    install(aws, plan)
    try:
        objects = {f"faults/photo-{i:04d}.jpg": product_photo(100 + i) for i in range(n)}
        keys = upload(aws, objects)
        outcome = settle(aws, keys, started)
    finally:
        uninstall(aws, plan)
    problems = list(outcome.problems)
    names = [e["name"] for e in outcome.executions]
    if len(names) != n or len(set(names)) != n:
        problems.append(f"{len(names)} executions ({len(set(names))} distinct) for {n} uploads")
    failed = {k: r.get("reasons") for k, r in outcome.records.items() if r.get("status") == Status.FAILED}
    if failed:
        problems.append(f"{len(failed)} images failed despite retries: {failed}")
    versions = exported_versions(aws)
    contents: dict[str, set[str]] = {}
    for key, etag in versions:
        contents.setdefault(key, set()).add(etag)
    if any(len(etags) > 1 for etags in contents.values()):
        problems.append(f"export files with two different contents: {[k for k, e in contents.items() if len(e) > 1]}")
    exported = sum(len(r.get("exports") or {}) for r in outcome.records.values())
    if len(contents) != exported:
        problems.append(f"{len(contents)} export files for {exported} recorded exports")
    return {**outcome.summary(), "problems": problems, "uploads": n, "rate": rate,
            "faults_injected": sum(plan.injected.values()),
            # An export retried after a fault past its writes puts the same bytes again: same key, same ETag.
            "identical_rewrites": len(versions) - len(contents), "faults_by_call": dict(plan.injected.most_common())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--rate", type=float, default=0.1)
    args = parser.parse_args()
    with embedded() as aws:
        result = run(aws, n=args.n, rate=args.rate)
    print_json(result)
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
