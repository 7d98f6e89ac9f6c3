"""Human review on the embedded AWS: a real review clicked through in headless Chromium, and expiry."""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from packshot.adapters.review import LambdaReviewApi
from packshot.cli import main as packshot_main
from packshot.local.review_page import ReviewPage
from tests.conftest import EXAMPLES

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Every scored image waits for a reviewer: the test does not depend on where QC lands for a photo.
EVERYTHING_TO_REVIEW = {"QcApproveMin": "101"}


def embedded_aws(parameters: dict[str, str]) -> Iterator[object]:
    from packshot.local.embedded import EmbeddedAws

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    with EmbeddedAws(log_level="ERROR", parameters=parameters) as aws:
        yield aws


@pytest.fixture()
def reviewable(model_file: Path) -> Iterator[object]:
    yield from embedded_aws(EVERYTHING_TO_REVIEW)


@pytest.fixture()
def expiring(model_file: Path) -> Iterator[object]:
    yield from embedded_aws({**EVERYTHING_TO_REVIEW, "ReviewTimeoutSeconds": "3"})


def wait_until_terminal(aws, keys: list[str], timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        progress = aws.progress(keys)
        if progress.finished == len(keys) and progress.running_executions == 0:
            break
        time.sleep(0.5)
    return aws.records_by_key()


def test_a_reviewer_approves_one_photo_and_rejects_another_on_the_review_page(reviewable, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "install Debian's chromium (.ci/run does it)"
    aws = reviewable
    keys = aws.upload([EXAMPLES / "box_on_white.jpg", EXAMPLES / "teal_glass_bottle.jpg"], EXAMPLES)
    progress = aws.wait(keys, timeout_s=240)
    assert progress.by_status == {"needs_review": 2}, progress.line()
    page_server = ReviewPage(LambdaReviewApi(aws.physical("ReviewFunction"), aws.client("lambda")))
    url = page_server.start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.fill("#reviewer", "alice")
            box = page.locator("section.task", has_text="box_on_white.jpg")
            teal = page.locator("section.task", has_text="teal_glass_bottle.jpg")
            assert box.locator("img[alt=mask]").evaluate("i => i.complete && i.naturalWidth > 0")
            box.locator("select.zoom").select_option("1")
            page.screenshot(path=str(tmp_path / "review_page.png"), full_page=False)
            box.locator("button.approve").click()
            page.wait_for_selector("#message")
            assert "approve by alice" in page.inner_text("#message")
            page.fill("#reviewer", "alice")
            teal.locator("input.reason").fill("cap cut off on the left; reshoot")
            teal.locator("button.reject").click()
            page.wait_for_selector("#empty")
            browser.close()
    finally:
        page_server.stop()

    records = wait_until_terminal(aws, keys)

    box_record, teal_record = records["box_on_white.jpg"], records["teal_glass_bottle.jpg"]
    assert box_record["status"] == "exported" and box_record["exports"]
    assert teal_record["status"] == "rejected_by_reviewer"
    assert teal_record["reasons"] == ["rejected by alice at the review step: cap cut off on the left; reshoot"]
    for record, decision in ((box_record, "approve"), (teal_record, "reject")):
        (made,) = record["decisions"]
        assert (made["decision"], made["reviewer"], made["step"]) == (decision, "alice", "review")
        assert made["at"].startswith(time.strftime("%Y-"))
    assert [e["status"] for e in aws.executions()] == ["SUCCEEDED", "SUCCEEDED"]


def test_a_review_nobody_decides_in_time_ends_as_review_expired_not_as_a_failed_execution(expiring) -> None:
    aws = expiring
    keys = aws.upload([EXAMPLES / "box_on_white.jpg"], EXAMPLES)

    record = wait_until_terminal(aws, keys)["box_on_white.jpg"]

    assert record["status"] == "review_expired", record
    assert "no review decision within 3 s" in record["reasons"][0]
    assert [e["status"] for e in aws.executions()] == ["SUCCEEDED"]
    api = LambdaReviewApi(aws.physical("ReviewFunction"), aws.client("lambda"))
    assert api.call({"op": "list"}) == {"tasks": []}


def jewelry_batch(tmp_path: Path) -> Path:
    """One photo the category rule sends to a reviewer and then to a senior editor."""
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(EXAMPLES / "box_on_white.jpg", photos / "box_on_white.jpg")
    (photos / "manifest.csv").write_text("filename,sku,category\nbox_on_white.jpg,PS-1,jewelry\n")
    return photos


def test_packshot_run_leaves_review_items_pending_and_says_how_to_work_them(tmp_path: Path, model_file: Path,
                                                                            capsys) -> None:
    out = tmp_path / "out"

    assert packshot_main(["run", str(jewelry_batch(tmp_path)), "--out", str(out)]) == 0

    (row,) = json.loads((out / "report.json").read_text())
    assert row["status"] == "needs_review"
    err = capsys.readouterr().err
    assert "1 images wait for review" in err
    assert "--review" in err and "--approve-all" in err


def test_packshot_run_approve_all_signs_complex_products_off_twice_and_exports_them(tmp_path: Path,
                                                                                    model_file: Path) -> None:
    out = tmp_path / "out"

    assert packshot_main(["run", str(jewelry_batch(tmp_path)), "--out", str(out), "--approve-all",
                          "--reviewer", "alice"]) == 0

    (row,) = json.loads((out / "report.json").read_text())
    assert row["status"] == "exported" and row["exports"]
    assert [(d["step"], d["decision"], d["reviewer"]) for d in row["record"]["decisions"]] == [
        ("review", "approve", "alice"), ("senior", "approve", "senior-alice")]
