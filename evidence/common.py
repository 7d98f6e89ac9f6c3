"""Shared pieces of the evidence scripts: small valid product photos, uploads, and the checks every run makes."""

from __future__ import annotations

import io
import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from packshot.status import TERMINAL_STATUSES, WAITING_STATUSES, Status

# Parked on a review task token: settled by design.
SETTLED = TERMINAL_STATUSES | WAITING_STATUSES
# Statuses that must carry a reason a person can act on.
NEEDS_REASON = frozenset({Status.REJECTED, Status.FAILED, Status.REDO})


# Messages of faults injected on purpose start with this, whatever their type.
INJECTED = "injected:"


class InjectedFault(Exception):
    """A fault the evidence scripts inject on purpose; not counted as an unhandled exception."""


def product_photo(index: int, size: int = 1000, fmt: str = "JPEG") -> bytes:
    """A small, valid packshot: a coloured box on a white sweep, different per index (so a different object)."""
    rng = np.random.default_rng(index)
    pixels = np.full((size, size, 3), 250, np.uint8)
    colour = rng.integers(20, 200, 3)
    w, h = int(size * rng.uniform(0.35, 0.55)), int(size * rng.uniform(0.45, 0.65))
    x, y = (size - w) // 2, (size - h) // 2
    pixels[y:y + h, x:x + w] = colour
    pixels[y + h // 3:y + h // 3 + 6, x:x + w] = colour // 2  # a label edge, so it is not one flat block
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt, quality=90)
    return buffer.getvalue()


@contextmanager
def embedded(**kwargs: Any) -> Iterator[Any]:
    """An embedded AWS for a script run (tests pass their own from the fixtures)."""
    import warnings

    from packshot.local.embedded import EmbeddedAws

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    with EmbeddedAws(log_level="ERROR", **kwargs) as aws:
        yield aws


def upload(aws: Any, objects: dict[str, bytes], metadata: dict[str, str] | None = None) -> list[str]:
    s3 = aws.client("s3")
    for key, data in objects.items():
        s3.put_object(Bucket=aws.input_bucket, Key=key, Body=data, **({"Metadata": metadata} if metadata else {}))
    return list(objects)


def shorten_redelivery(aws: Any, seconds: int = 2) -> None:
    """Make a failed message reappear after `seconds` instead of six function timeouts, so a run takes seconds."""
    sqs = aws.client("sqs")
    for logical in aws.stack.of_type("AWS::SQS::Queue"):
        if "RedrivePolicy" in aws.stack.properties(logical):
            sqs.set_queue_attributes(QueueUrl=aws.physical(logical), Attributes={"VisibilityTimeout": str(seconds)})


@dataclass
class Outcome:
    """What a run left behind, and what is wrong with it."""

    records: dict[str, dict[str, Any]]
    executions: list[dict[str, Any]]
    handler_errors: list[tuple[str, str, str]]
    dead_letters: int
    seconds: float
    problems: list[str] = field(default_factory=list)

    @property
    def by_status(self) -> dict[str, int]:
        return dict(Counter(r.get("status", "?") for r in self.records.values()))

    @property
    def executions_by_status(self) -> dict[str, int]:
        return dict(Counter(e["status"] for e in self.executions))

    def summary(self) -> dict[str, Any]:
        return {"records": len(self.records), "by_status": self.by_status, "executions": len(self.executions),
                "executions_by_status": self.executions_by_status, "handler_errors": len(self.handler_errors),
                "dead_letters": self.dead_letters, "seconds": round(self.seconds, 1), "problems": self.problems}


def settle(aws: Any, keys: list[str], started: float, timeout_s: float = 600) -> Outcome:
    """Wait for the batch, then check: one settled record per key, each failure with a reason, nothing stuck."""
    progress = aws.wait(keys, timeout_s=timeout_s)
    records = aws.records_by_key()
    executions = aws.executions()
    errors = [e for e in aws.runtime.errors if e[1] != InjectedFault.__name__ and INJECTED not in e[2]]
    outcome = Outcome(records=records, executions=executions, handler_errors=errors,
                      dead_letters=progress.dead_letters, seconds=time.monotonic() - started)
    for key in keys:
        record = records.get(key)
        if record is None:
            outcome.problems.append(f"{key!r}: no record (lost)")
        elif record.get("status") not in SETTLED:
            outcome.problems.append(f"{key!r}: stuck in {record.get('status')!r}")
        elif record["status"] in NEEDS_REASON and not record.get("reasons"):
            outcome.problems.append(f"{key!r}: {record['status']} without a reason")
    for name, kind, message in errors:
        outcome.problems.append(f"unhandled {kind} in {name}: {message[:120]}")
    waiting = sum(1 for r in records.values() if r.get("status") in WAITING_STATUSES)
    running = sum(1 for e in executions if e["status"] == "RUNNING")
    if running > waiting:
        outcome.problems.append(f"{running - waiting} executions still running with no review to wait for")
    if progress.dead_letters:
        outcome.problems.append(f"{progress.dead_letters} messages in a dead-letter queue")
    return outcome


def exported_keys(aws: Any) -> list[str]:
    """One entry per stored version of every export file (the export bucket is versioned)."""
    return [key for key, _ in exported_versions(aws)]


def exported_versions(aws: Any) -> list[tuple[str, str]]:
    s3 = aws.client("s3")
    versions: list[tuple[str, str]] = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=aws.export_bucket):
        versions.extend((v["Key"], v["ETag"]) for v in page.get("Versions", []))
    return versions


def originals_untouched(aws: Any, objects: dict[str, bytes]) -> list[str]:
    """Every original still there, byte for byte, in exactly one version."""
    s3 = aws.client("s3")
    problems = []
    for key, data in objects.items():
        versions = s3.list_object_versions(Bucket=aws.input_bucket, Prefix=key).get("Versions", [])
        versions = [v for v in versions if v["Key"] == key]
        if len(versions) != 1:
            problems.append(f"{key!r}: {len(versions)} versions of the original")
        elif s3.get_object(Bucket=aws.input_bucket, Key=key)["Body"].read() != data:
            problems.append(f"{key!r}: original changed")
    return problems


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))
