"""In-memory fakes of the ports (packshot/ports.py), one per port, behaving like the adapters where tests rely on it.

tests/unit/test_fakes.py checks each against its Protocol, so a port that gains a method fails there first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from packshot.adapters.s3 import ObjectInfo
from packshot.errors import ReviewTokenExpiredError, SourceMissingError
from packshot.ports import Record
from packshot.status import TERMINAL_STATUSES


class FakeStore:
    """ObjectStore: objects by (bucket, key). Like S3Store, a missing object raises SourceMissingError and a head
    says size, ETag, content type and metadata. `read_only` buckets refuse writes (a stage never writes the input
    bucket); `reads` lists every get."""

    def __init__(self, objects: dict[tuple[str, str], bytes] | None = None,
                 metadata: dict[tuple[str, str], dict[str, str]] | None = None,
                 read_only: Iterable[str] = ()) -> None:
        self.objects: dict[tuple[str, str], bytes] = dict(objects or {})
        self.metadata: dict[tuple[str, str], dict[str, str]] = dict(metadata or {})
        self.content_types: dict[tuple[str, str], str] = {}
        self.read_only = frozenset(read_only)
        self.reads: list[tuple[str, str]] = []

    def head(self, bucket: str, key: str, *, version_id: str = "", etag: str = "") -> ObjectInfo:
        data = self._object(bucket, key)
        return ObjectInfo(size=len(data), etag=hashlib.md5(data).hexdigest(),  # noqa: S324 - S3's ETag is an MD5
                          content_type=self.content_types.get((bucket, key), ""),
                          metadata=dict(self.metadata.get((bucket, key), {})))

    def get(self, bucket: str, key: str, *, version_id: str = "", etag: str = "") -> bytes:
        self.reads.append((bucket, key))
        return self._object(bucket, key)

    def put(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        assert bucket not in self.read_only, f"nothing may write to the {bucket} bucket"
        self.objects[bucket, key] = data
        self.content_types[bucket, key] = content_type

    def _object(self, bucket: str, key: str) -> bytes:
        if (bucket, key) not in self.objects:
            raise SourceMissingError(f"s3://{bucket}/{key} no longer exists")
        return self.objects[bucket, key]


class FakeRecords:
    """Records, BatchRecords, ClosingRecords, ScannableRecords and RecordReader over one dict of records.

    Reads return copies, as a read from DynamoDB does. Unlike RecordsTable.update (which refuses a missing
    record), update creates one: the unit tests set their records up through it.
    """

    def __init__(self, items: dict[str, Record] | None = None) -> None:
        self.items: dict[str, Record] = {k: {"image_id": k, **v} for k, v in (items or {}).items()}

    def create_if_absent(self, record: Record) -> bool:
        if record["image_id"] in self.items:
            return False
        self.items[record["image_id"]] = dict(record)  # type: ignore[assignment]
        return True

    def update(self, image_id: str, fields: Record) -> None:
        self.items.setdefault(image_id, {"image_id": image_id}).update(fields)

    def update_if(self, image_id: str, fields: Record, expected: Record) -> bool:
        record = self.items.get(image_id)
        if record is None or any(record.get(k) != v for k, v in expected.items()):
            return False
        record.update(fields)
        return True

    def close(self, image_id: str, fields: Record, *, execution_name: str) -> bool:
        record = self.items.get(image_id)
        if record is None or record.get("status") in TERMINAL_STATUSES or \
                record.get("execution_name", execution_name) != execution_name:
            return False
        record.update(fields)
        return True

    def get(self, image_id: str) -> Record | None:
        record = self.items.get(image_id)
        return None if record is None else _copy(record)

    def in_batch(self, batch: str) -> list[Record]:
        return [_copy(r) for r in self.items.values() if r.get("batch") == batch]

    def scan(self) -> list[Record]:
        return [_copy(r) for r in self.items.values()]


def _copy(record: Record) -> Record:
    import copy

    return copy.deepcopy(record)


class FakeStarter:
    """Starter: records each start; like Step Functions, a second start under a taken name starts nothing.
    Executions named in `running` are RUNNING; any other name has no execution ("")."""

    def __init__(self, running: Iterable[str] = ()) -> None:
        self.running = set(running)
        self.started: list[tuple[str, dict[str, Any]]] = []

    def start(self, name: str, payload: dict[str, Any]) -> bool:
        if any(started == name for started, _ in self.started):
            return False
        self.started.append((name, payload))
        return True

    def status(self, name: str) -> str:
        return "RUNNING" if name in self.running else ""


class FakeReviewItems:
    """ReviewItems and Withdrawals: the open review tasks; `deleted` lists every withdrawal asked for."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.deleted: list[str] = []

    def put(self, item: dict[str, Any]) -> None:
        self.items[item["review_id"]] = dict(item)

    def delete(self, review_id: str, task_token: str = "") -> None:
        self.deleted.append(review_id)
        if not task_token or self.items.get(review_id, {}).get("task_token") == task_token:
            self.items.pop(review_id, None)

    def scan(self) -> list[dict[str, Any]]:
        return [dict(i) for i in self.items.values()]


class FakeTokens:
    """TaskTokens: a token resumes its execution once; a used or `dead` token raises like Step Functions."""

    def __init__(self) -> None:
        self.sent: dict[str, dict[str, Any]] = {}
        self.dead: set[str] = set()

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        if token in self.dead or token in self.sent:
            raise ReviewTokenExpiredError("gone")
        self.sent[token] = output


class FakePresigner:
    """Presigner: URLs that name the key and look signed."""

    def get_url(self, key: str) -> str:
        return f"https://signed.example/{key}?sig=secret"

    def put_url(self, key: str, content_type: str) -> str:
        return f"https://signed.example/{key}?put=1"


class FakeMetrics:
    """MetricSink: keeps the last value added under each name."""

    def __init__(self) -> None:
        self.metrics: dict[str, float] = {}

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        self.metrics[name] = value
