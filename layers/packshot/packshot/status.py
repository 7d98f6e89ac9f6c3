"""The record statuses and the decisions: one vocabulary for the stages, the state machine, review and reports.

The values are the exact strings on DynamoDB records and in statemachine/pipeline.asl.json: never rename one.
A StrEnum member is a str, so it is written, compared and serialised as its value.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Where an image's record stands (its `status` attribute)."""

    # Ingest wrote the record and started the execution (a redrive sets it again).
    RECEIVED = "received"
    # A stage works on it, or a reviewer's decision has just resumed it.
    PROCESSING = "processing"
    # QC and the gate passed it: export comes next.
    APPROVED = "approved"
    # Parked on a task token until a person decides: pending by design, not stuck.
    NEEDS_REVIEW = "needs_review"
    NEEDS_SENIOR = "needs_senior"
    # Terminal: every image's record ends in exactly one of the statuses below.
    EXPORTED = "exported"
    REJECTED = "rejected"
    FAILED = "failed"
    # QC < 70: the machine's result is not usable; the studio redoes the shot or the retouch (reasons on the record).
    REDO = "redo"
    REJECTED_BY_REVIEWER = "rejected_by_reviewer"
    REVIEW_EXPIRED = "review_expired"
    # A multi-shot product's other photos, once the editor uploaded the composite for the group.
    MERGED = "merged"
    # Someone (or something) stopped the image's execution before it finished; `packshot redrive` starts it again.
    STOPPED = "stopped"


TERMINAL_STATUSES = frozenset({Status.EXPORTED, Status.REJECTED, Status.FAILED, Status.REDO,
                               Status.REJECTED_BY_REVIEWER, Status.REVIEW_EXPIRED, Status.MERGED, Status.STOPPED})
# Ended without a result: what `packshot redrive` starts again.
UNFINISHED_STATUSES = frozenset({Status.FAILED, Status.STOPPED})
WAITING_STATUSES = frozenset({Status.NEEDS_REVIEW, Status.NEEDS_SENIOR})

# What the local report and progress show for an upload that has no record (never written to the table).
NO_RECORD = "missing"
NOT_STARTED = "uploaded"


class Decision(StrEnum):
    """What finishing decided for an image (QC, the gate and the route rules): the state's `decision`."""

    APPROVE = "approve"
    REVIEW = "review"
    REJECT = "reject"


class ReviewDecision(StrEnum):
    """What a review step resumed its execution with: a reviewer's decision, or `merged` for a multi-shot
    product's other photos when the editor uploaded one corrected composite."""

    APPROVE = "approve"
    REJECT = "reject"
    CORRECTED = "corrected"
    MERGED = "merged"


# What a reviewer may send; `merged` follows from a correction of the group's primary photo.
REVIEWER_DECISIONS = (ReviewDecision.APPROVE, ReviewDecision.REJECT, ReviewDecision.CORRECTED)
