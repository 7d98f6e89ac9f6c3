"""What every stage shares: the state that travels between them, the work files' keys, the start and the end of an
execution. Each stage's own step is packshot.stages.<stage>.run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from packshot.config import Settings
from packshot.events import ObjectRef
from packshot.ports import (
    ClientFields,
    ClosingRecords,
    ObjectStore,
    Record,
    Records,
    ScannableRecords,
    Starter,
    Withdrawals,
)
from packshot.status import TERMINAL_STATUSES, UNFINISHED_STATUSES, Status


class PipelineState(ClientFields, total=False):
    """What travels between states: ids and keys, never pixels (Step Functions caps payloads at 256 KiB)."""

    image_id: str
    bucket: str
    key: str
    etag: str
    version_id: str
    name: str
    status: str
    route: str
    decision: str
    shoot_group: str
    reference_white: list[float]
    master_key: str
    # The master at classify's working size (imaging/complexity.py working_copy): what classify reads.
    preview_key: str
    cutout_key: str
    final_key: str
    confidence: float
    gate: dict[str, Any]
    qc_score: float
    # What finishing reads from the backdrop, measured by the cutout stage (stages/backdrop.py): a few numbers.
    backdrop: dict[str, Any]


# A reviewer's corrected cutout is uploaded under this prefix of the work bucket; nothing else may be one.
CORRECTION_PREFIX = "review/"


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def start_pipeline(ref: ObjectRef, records: Records, starter: Starter, now: Callable[[], str] = utc_now) -> bool:
    """Create the image's record and its execution; True when this delivery started it (False: a duplicate)."""
    from packshot.delivery import batch_for

    state = _first_state(ref.image_id, ref.bucket, ref.key, ref.etag, ref.version_id, ref.name)
    at = now()
    records.create_if_absent(
        {
            "image_id": ref.image_id,
            # The execution working on the image: an end event of an older one must not close a redriven image.
            "execution_name": ref.image_id,
            "source_bucket": ref.bucket,
            "source_key": ref.key,
            "etag": ref.etag,
            "version_id": ref.version_id,
            "name": ref.name,
            "size_bytes": ref.size,
            # The delivery batch (top-level folder); export refines it from a `batch` metadata field.
            "batch": batch_for(ref.key),
            "status": Status.RECEIVED,
            "reasons": [],
            "created_at": at,
            "updated_at": at,
        }
    )
    # The execution name is the image id: a second start for the same object is refused by Step Functions.
    return starter.start(ref.image_id, dict(state))


def _first_state(image_id: str, bucket: str, key: str, etag: str, version_id: str, name: str) -> PipelineState:
    return {"image_id": image_id, "bucket": bucket, "key": key, "etag": etag, "version_id": version_id, "name": name}


# How Step Functions says an execution ended without finishing, as the record says it.
_ENDED = {"FAILED": (Status.FAILED, "failed"), "TIMED_OUT": (Status.FAILED, "timed out"),
          "ABORTED": (Status.STOPPED, "was stopped")}
REDRIVE_SEPARATOR = "-redrive-"


def close_ended_execution(detail: dict[str, Any], records: ClosingRecords, reviews: Withdrawals,
                          now: Callable[[], str] = utc_now) -> dict[str, Any]:
    """An execution ended FAILED, TIMED_OUT or ABORTED: its record ends `failed` or `stopped`, with the cause.

    Fed by the EventBridge rule on the state machine's status changes. A record that is terminal already (the
    state machine's own Catch wrote `failed`, or a reviewer closed it) or that a newer execution works on
    (a redrive) is left alone; open review items of the image are withdrawn, their tokens are dead.
    """
    name = str(detail.get("name", ""))
    image_id = name.split(REDRIVE_SEPARATOR, 1)[0]
    ended = _ENDED.get(str(detail.get("status", "")))
    if not image_id or ended is None:
        return {"image_id": image_id, "closed": False}
    status, verb = ended
    cause = " ".join(str(detail.get(k) or "") for k in ("error", "cause")).strip()[:2000] or "no cause given"
    fields: Record = {"status": status, "stage": "execution",
              "reasons": [f"the execution {verb} before the image finished ({cause}); `packshot redrive` starts it "
                          "again"],
              "failure": {"error": str(detail.get("error") or status), "cause": cause,
                          "execution": str(detail.get("executionArn", name))},
              "updated_at": now()}
    closed = records.close(image_id, fields, execution_name=name)
    if closed:
        from packshot.review import REVIEW, SENIOR, review_id

        for step in (REVIEW, SENIOR):
            reviews.delete(review_id(image_id, step))
    return {"image_id": image_id, "closed": closed, "status": status if closed else ""}


# A record that moved this recently may still be on its way (ingest between its record and its StartExecution,
# an SQS retry): only older ones count as stuck.
STUCK_AFTER_S = 900


def restart_unfinished(records: ScannableRecords, starter: Starter, now: Callable[[], str] = utc_now,
                       ) -> list[dict[str, Any]]:
    """Start again every image that did not finish: `failed` or `stopped`, or stuck with no execution running.

    A new execution per image (the image's own name stays taken for 90 days), from the upload the record names;
    the record says when and from what it was restarted. Images parked on a review are pending by design.
    """
    restarted = []
    for record in records.scan():
        image_id, status = str(record.get("image_id", "")), str(record.get("status", ""))
        if not image_id.startswith("img-") or not record.get("source_key"):
            continue  # a rejected message record names no upload
        running = starter.status(str(record.get("execution_name") or image_id)) == "RUNNING"
        stuck = status not in TERMINAL_STATUSES and not running and _age_s(record, now()) >= STUCK_AFTER_S
        if status not in UNFINISHED_STATUSES and not stuck:
            continue
        history = list(record.get("redrives", []))
        name = f"{image_id}{REDRIVE_SEPARATOR}{len(history) + 1}"
        at = now()
        history.append({"at": at, "status": status, "reasons": list(record.get("reasons", [])),
                        "failure": record.get("failure", {}), "execution": name})
        # Conditional on the status just read: an image that moved meanwhile is not restarted twice.
        if not records.update_if(image_id, {"status": Status.RECEIVED, "stage": "redrive", "reasons": [], "failure": {},
                                            "execution_name": name, "redrives": history, "updated_at": at},
                                 {"status": status}):
            continue
        state = _first_state(image_id, str(record.get("source_bucket", "")), str(record["source_key"]),
                             str(record.get("etag", "")), str(record.get("version_id", "")),
                             str(record.get("name", "")))
        starter.start(name, dict(state))
        restarted.append({"image_id": image_id, "from": status, "execution": name})
    return restarted


def _age_s(record: Record, at: str) -> float:
    """Seconds since the record last changed (a record without a time is old)."""
    try:
        return (datetime.fromisoformat(at) - datetime.fromisoformat(str(record["updated_at"]))).total_seconds()
    except (KeyError, ValueError, TypeError):
        return float("inf")


def record_rejection(ref_id: str, reasons: list[str], records: Records, now: Callable[[], str] = utc_now) -> None:
    """A message that cannot name an image still leaves a terminal record saying why."""
    at = now()
    # A poison message can be large: the record keeps the start of each reason, well under DynamoDB's 400 KB.
    reasons = [r[:500] for r in reasons[:20]]
    if not records.create_if_absent(
        {"image_id": ref_id, "status": Status.REJECTED, "reasons": reasons, "stage": "ingest", "created_at": at,
         "updated_at": at}
    ):
        records.update(ref_id, {"status": Status.REJECTED, "reasons": reasons, "updated_at": at})


def this_upload(state: PipelineState) -> dict[str, str]:
    """The exact upload the event announced: a later upload of the same key is an image of its own."""
    return {"version_id": state.get("version_id", "") or "", "etag": state.get("etag", "") or ""}


def work_key(state: PipelineState, name: str) -> str:
    return f"work/{state['image_id']}/{name}"


def load_master(state: PipelineState, store: ObjectStore, settings: Settings, *, preview: bool = False) -> np.ndarray:
    """The master's pixels; with preview, its copy at classify's working size where pre-processing wrote one."""
    from packshot.imaging.png import decode_png_rgba

    key = (state.get("preview_key") or state["master_key"]) if preview else state["master_key"]
    rgb, _ = decode_png_rgba(store.get(settings.work_bucket, key))
    return rgb
