"""An execution that ends badly closes its record, unless the record is terminal or a newer execution owns it."""

from __future__ import annotations

from typing import Any

import pytest

from packshot.pipeline import close_ended_execution, restart_unfinished
from tests.fakes import FakeRecords, FakeReviewItems, FakeStarter


def detail(status: str, name: str = "img-a", **extra: str) -> dict[str, Any]:
    return {"name": name, "status": status, "executionArn": f"arn:exec:{name}", **extra}


@pytest.mark.parametrize("status, expected, words", [
    ("ABORTED", "stopped", "was stopped"), ("TIMED_OUT", "failed", "timed out"), ("FAILED", "failed", "failed")])
def test_an_execution_that_ends_badly_closes_a_record_that_is_still_open(status, expected, words) -> None:
    records, reviews = FakeRecords({"img-a": {"status": "needs_review", "execution_name": "img-a"}}), FakeReviewItems()

    result = close_ended_execution(detail(status, error="States.DataLimitExceeded", cause="too big"), records,
                                   reviews, now=lambda: "t")

    record = records.items["img-a"]
    assert result["closed"] and record["status"] == expected
    assert words in record["reasons"][0] and "States.DataLimitExceeded too big" in record["reasons"][0]
    assert reviews.deleted == ["img-a:review", "img-a:senior"]  # their tokens died with the execution


def test_a_record_that_is_terminal_already_keeps_its_own_status_and_reason() -> None:
    records = FakeRecords({"img-a": {"status": "failed", "reasons": ["stage cutout failed with X"]}})

    assert not close_ended_execution(detail("FAILED"), records, FakeReviewItems())["closed"]
    assert records.items["img-a"]["reasons"] == ["stage cutout failed with X"]


def test_the_end_of_an_old_execution_does_not_close_an_image_a_redrive_is_working_on() -> None:
    records = FakeRecords({"img-a": {"status": "processing", "execution_name": "img-a-redrive-1"}})

    assert not close_ended_execution(detail("ABORTED", name="img-a"), records, FakeReviewItems())["closed"]
    assert close_ended_execution(detail("ABORTED", name="img-a-redrive-1"), records, FakeReviewItems())["closed"]


def test_redrive_restarts_failed_stopped_and_stuck_images_and_leaves_the_rest() -> None:
    upload = {"source_bucket": "in", "etag": "e", "version_id": "v", "name": "x.jpg"}
    records = FakeRecords({
        "img-failed": {**upload, "source_key": "a.jpg", "status": "failed", "reasons": ["boom"]},
        "img-stopped": {**upload, "source_key": "b.jpg", "status": "stopped"},
        "img-stuck": {**upload, "source_key": "c.jpg", "status": "processing",  # its execution is gone
                      "updated_at": "2026-01-01T10:00:00.000+00:00"},
        "img-just-received": {**upload, "source_key": "h.jpg", "status": "received",  # its start is on its way
                              "updated_at": "2026-01-01T10:59:00.000+00:00"},
        "img-moving": {**upload, "source_key": "d.jpg", "status": "processing"},
        "img-parked": {**upload, "source_key": "e.jpg", "status": "needs_review"},
        "img-done": {**upload, "source_key": "f.jpg", "status": "exported"},
        "img-bad": {**upload, "source_key": "g.jpg", "status": "rejected"},
        "msg-1": {"status": "rejected"},
    })
    starter = FakeStarter(running={"img-moving", "img-parked"})

    restarted = restart_unfinished(records, starter, now=lambda: "2026-01-01T11:00:00.000+00:00")

    assert sorted(r["image_id"] for r in restarted) == ["img-failed", "img-stopped", "img-stuck"]
    name, state = next(s for s in starter.started if s[0].startswith("img-failed"))
    assert name == "img-failed-redrive-1"
    assert state == {"image_id": "img-failed", "bucket": "in", "key": "a.jpg", "etag": "e", "version_id": "v",
                     "name": "x.jpg"}
    assert records.items["img-failed"]["redrives"] == [
        {"at": "2026-01-01T11:00:00.000+00:00", "status": "failed", "reasons": ["boom"], "failure": {},
         "execution": "img-failed-redrive-1"}]
    assert records.items["img-failed"]["status"] == "received"
