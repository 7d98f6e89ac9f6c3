"""The ports: what the stages, review and the runner need from storage, Step Functions and metrics, one Protocol
each, and the image record they read and write. adapters/ implements them with boto3; tests/fakes.py in memory."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, TypedDict


class ClientFields(TypedDict, total=False):
    """What the client said of a photo (manifest.ImageMetadata), as the record and the execution's state carry it."""

    category: str
    sku: str
    asin: str
    gtin: str
    ean: str
    upc: str
    isbn: str
    client: str
    platforms: list[str]


class Record(ClientFields, total=False):
    """One image's item in the records table (keyed by image_id), every field as something writes it today.

    Every write sets some of the fields, so none is required; a read returns what was written. The writers:
    ingest (start_pipeline, record_rejection), each stage in stages/, review.py, the end-of-execution
    handler and redrive, and the state machine's own DynamoDB tasks (decisions, review and failure outcomes).
    """

    image_id: str
    # The execution working on the image: an end event of an older one must not close a redriven image.
    execution_name: str
    source_bucket: str
    source_key: str
    etag: str
    version_id: str
    name: str
    size_bytes: int
    batch: str
    status: str  # a packshot.status.Status value
    stage: str
    reasons: list[str]
    created_at: str
    updated_at: str
    # Why the execution ended without a result (the state machine's Catch, an end event or a redrive's history).
    failure: dict[str, Any]
    redrives: list[dict[str, Any]]
    # Preprocess: what was decoded and how, the client's metadata (manifest.ImageMetadata) and the shoot.
    format: str
    source_mode: str
    icc_profile: str
    width: int
    height: int
    bit_depth: int
    exif_orientation: int
    gps_removed: bool
    decode_notes: list[str]
    metadata_notes: list[str]
    shoot_group: str
    shoot: dict[str, Any]
    editing_master_key: str
    outputs: dict[str, str]
    # Classify.
    route: str
    scores: dict[str, float]
    route_reasons: list[str]
    # Cutout: the model, its confidence and the auto-approval gate's verdict (gate.GateVerdict.as_record).
    model: str
    confidence: float
    gate: dict[str, Any]
    # Finish.
    qc_score: float
    qc_decision: str  # a packshot.status.Decision value
    qc_parts: dict[str, float]
    background_check: dict[str, Any]
    colour_normalisation: dict[str, Any]
    # Export and delivery.
    exports: dict[str, str]
    export_files: list[dict[str, Any]]
    export_problems: list[str]
    naming_notes: list[str]
    delivery_problems: list[str]
    # Review: the open step, and every decision (written by the state machine once the execution resumed).
    review_step: str
    review_requested_at: str
    decisions: list[dict[str, Any]]
    # A multi-shot product's shot (front, inside_label...): review reads it first, but no writer sets it today
    # (the shot's role comes from the upload's metadata).
    role: str


class ObjectStore(Protocol):
    """Objects by bucket and key; `version_id`, else `etag`, pins the exact upload a read must return."""

    def head(self, bucket: str, key: str, *, version_id: str = "", etag: str = "") -> Any: ...
    def get(self, bucket: str, key: str, *, version_id: str = "", etag: str = "") -> bytes: ...
    def put(self, bucket: str, key: str, data: bytes, content_type: str) -> None: ...


class Records(Protocol):
    """What ingest and the stages do with records: create one once, then set fields on it."""

    def create_if_absent(self, record: Record) -> bool: ...
    def update(self, image_id: str, fields: Record) -> None: ...


class BatchRecords(Protocol):
    """What delivery does with records: read a batch's, note what kept an image out of its package."""

    def in_batch(self, batch: str) -> Iterable[Record]: ...
    def update(self, image_id: str, fields: Record) -> None: ...


class Starter(Protocol):
    """Step Functions as ingest and redrive use it: one execution per name."""

    def start(self, name: str, payload: dict[str, Any]) -> bool: ...
    def status(self, name: str) -> str:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED; "" when no execution has this name."""
        ...


class ClosingRecords(Protocol):
    """What the end-of-execution handler does with records."""

    def close(self, image_id: str, fields: Record, *, execution_name: str) -> bool:
        """Set fields unless the record is terminal already or belongs to another execution; True when set."""
        ...


class ScannableRecords(Protocol):
    """What redrive does with records: read them all, restart one only while it still holds what was read."""

    def scan(self) -> Iterable[Record]: ...
    def update_if(self, image_id: str, fields: Record, expected: Record) -> bool: ...


class Withdrawals(Protocol):
    """Review items withdrawn when their execution ended (their tokens are dead)."""

    def delete(self, review_id: str) -> None: ...


class ReviewItems(Protocol):
    """The open review tasks (one per image and step), each with its task token."""

    def put(self, item: dict[str, Any]) -> None: ...
    def delete(self, review_id: str, task_token: str = "") -> None:
        """Remove the item; with a task token, only while the item still holds that token."""
        ...
    def scan(self) -> Iterable[dict[str, Any]]: ...


class RecordReader(Protocol):
    """What review does with records: read one, mark it waiting, mark it moving again while it still waits."""

    def get(self, image_id: str) -> Record | None: ...
    def update(self, image_id: str, fields: Record) -> None: ...
    def update_if(self, image_id: str, fields: Record, expected: Record) -> bool: ...


class TaskTokens(Protocol):
    """Resumes executions waiting on a review's task token."""

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        """Resume the waiting execution; raises ReviewTokenExpiredError when nothing waits on the token."""
        ...


class Presigner(Protocol):
    """Presigned URLs of the work bucket for the reviewer's page."""

    def get_url(self, key: str) -> str: ...
    def put_url(self, key: str, content_type: str) -> str: ...


class ReviewApi(Protocol):
    """The review API as a client calls it (list, upload_url, decide); the caller's identity is its own."""

    def call(self, command: dict[str, Any]) -> dict[str, Any]: ...


class MetricSink(Protocol):
    """The one method of Powertools' Metrics that the stages use."""

    def add_metric(self, name: str, unit: Any, value: float) -> None: ...
