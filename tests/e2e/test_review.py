"""Human review on the embedded AWS: a real review clicked through in headless Chromium, and expiry."""

from __future__ import annotations

import io
import json
import os
import shutil
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from packshot.cli import main as packshot_main
from packshot.local.function_url import EmbeddedReviewApi, local_principal
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


@pytest.fixture()
def gated(model_file: Path) -> Iterator[object]:
    yield from embedded_aws({})  # the committed gate and QC floor decide


@contextmanager
def review_page_in_chromium(aws) -> Iterator[object]:
    """alice's review page in headless Chromium, opened on the link the terminal prints."""
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "install Debian's chromium (make test does it)"
    server = ReviewPage(EmbeddedReviewApi(aws.client("lambda"), aws.physical("ReviewApiFunction"), "alice"), "alice")
    url = server.start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)  # the printed link: its secret becomes the session cookie
            yield page
            browser.close()
    finally:
        server.stop()


def wait_until_terminal(aws, keys: list[str], timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        progress = aws.progress(keys)
        if progress.finished == len(keys) and progress.running_executions == 0:
            break
        time.sleep(0.5)
    return aws.records_by_key()


def test_a_reviewer_approves_one_photo_and_rejects_another_on_the_review_page(reviewable, tmp_path: Path) -> None:
    aws = reviewable
    keys = aws.upload([EXAMPLES / "box_on_white.jpg", EXAMPLES / "teal_glass_bottle.jpg"], EXAMPLES)
    progress = aws.wait(keys, timeout_s=240)
    assert progress.by_status == {"needs_review": 2}, progress.line()
    alice = local_principal("alice")
    with review_page_in_chromium(aws) as page:
        assert page.url.endswith("/") and "session=" not in page.url
        assert page.inner_text("#operator") == "alice"
        box = page.locator("section.task", has_text="box_on_white.jpg")
        teal = page.locator("section.task", has_text="teal_glass_bottle.jpg")
        assert box.locator("img[alt=mask]").evaluate("i => i.complete && i.naturalWidth > 0")
        box.locator("figure:has(img[alt=mask]) select.zoom").select_option("1")
        page.screenshot(path=str(tmp_path / "review_page.png"), full_page=False)
        box.locator("button.approve").click()
        page.wait_for_selector("#message")
        assert f"approve by {alice}" in page.inner_text("#message")
        teal.locator("input.reason").fill("cap cut off on the left; reshoot")
        teal.locator("button.reject").click()
        page.wait_for_selector("#empty")

    records = wait_until_terminal(aws, keys)

    box_record, teal_record = records["box_on_white.jpg"], records["teal_glass_bottle.jpg"]
    assert box_record["status"] == "exported" and box_record["exports"]
    assert teal_record["status"] == "rejected_by_reviewer"
    assert teal_record["reasons"] == [f"rejected by {alice} at the review step: cap cut off on the left; reshoot"]
    for record, decision in ((box_record, "approve"), (teal_record, "reject")):
        (made,) = record["decisions"]
        assert (made["decision"], made["reviewer"], made["step"]) == (decision, alice, "review")
        assert made["principal"] == alice.casefold()
        assert made["at"].startswith(time.strftime("%Y-"))
    assert [e["status"] for e in aws.executions()] == ["SUCCEEDED", "SUCCEEDED"]


def test_a_review_nobody_decides_in_time_ends_as_review_expired_not_as_a_failed_execution(expiring) -> None:
    aws = expiring
    keys = aws.upload([EXAMPLES / "box_on_white.jpg"], EXAMPLES)

    record = wait_until_terminal(aws, keys)["box_on_white.jpg"]

    assert record["status"] == "review_expired", record
    assert "no review decision within 3 s" in record["reasons"][0]
    assert [e["status"] for e in aws.executions()] == ["SUCCEEDED"]
    api = EmbeddedReviewApi(aws.client("lambda"), aws.physical("ReviewApiFunction"), "alice")
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


def test_packshot_run_approve_all_never_signs_a_senior_step_without_a_named_senior(tmp_path: Path, model_file: Path,
                                                                                   capsys) -> None:
    out = tmp_path / "out"

    assert packshot_main(["run", str(jewelry_batch(tmp_path)), "--out", str(out), "--approve-all",
                          "--reviewer", "alice"]) == 2

    (row,) = json.loads((out / "report.json").read_text())
    assert row["status"] == "needs_senior"  # not signed off by a made-up "senior-alice"
    assert [d["reviewer"] for d in row["record"]["decisions"]] == [local_principal("alice")]
    assert "--senior NAME" in capsys.readouterr().err


def test_packshot_run_refuses_a_senior_who_is_the_reviewer_under_another_spelling(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as refused:
        packshot_main(["run", str(tmp_path), "--approve-all", "--reviewer", "alice", "--senior", "ALICE"])
    assert refused.value.code == 2


def test_packshot_run_approve_all_signs_complex_products_off_twice_and_exports_them(tmp_path: Path,
                                                                                    model_file: Path) -> None:
    out = tmp_path / "out"

    assert packshot_main(["run", str(jewelry_batch(tmp_path)), "--out", str(out), "--approve-all",
                          "--reviewer", "alice", "--senior", "bob"]) == 0

    (row,) = json.loads((out / "report.json").read_text())
    assert row["status"] == "exported" and row["exports"]
    assert [(d["step"], d["decision"], d["reviewer"]) for d in row["record"]["decisions"]] == [
        ("review", "approve", local_principal("alice")), ("senior", "approve", local_principal("bob"))]


def banner_png() -> bytes:
    """A perfectly cut flat rectangle: what a forged correction looked like (QC scores it near 100)."""
    import io

    import numpy as np
    from PIL import Image

    rgba = np.zeros((1200, 1200, 4), np.uint8)
    rgba[300:900, 250:950] = (200, 20, 20, 255)
    out = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(out, "PNG")
    return out.getvalue()


def test_a_corrected_cutout_is_scored_again_and_shown_to_a_person_before_it_is_exported(embedded) -> None:
    import urllib.request

    aws = embedded
    keys = aws.upload([EXAMPLES / "white_box_on_white.jpg"], EXAMPLES)
    assert aws.wait(keys, timeout_s=240).by_status == {"needs_review": 1}
    assert aws.records_by_key()["white_box_on_white.jpg"]["route"] != "complex"  # the gate held it, not a category rule
    api = EmbeddedReviewApi(aws.client("lambda"), aws.physical("ReviewApiFunction"), "alice")
    (task,) = api.call({"op": "list"})["tasks"]
    target = api.call({"op": "upload_url", "task_id": task["task_id"]})
    urllib.request.urlopen(urllib.request.Request(target["url"], data=banner_png(), method="PUT",
                                                  headers={"Content-Type": "image/png"})).read()

    api.call({"op": "decide", "task_id": task["task_id"], "decision": "corrected",
              "corrected_cutout_key": target["key"]})

    progress = aws.wait(keys, timeout_s=240)
    record = aws.records_by_key()["white_box_on_white.jpg"]
    assert progress.by_status == {"needs_review": 1}, record  # back with a person, not exported
    assert record["qc_score"] >= 90 and record["reasons"][0].startswith("corrected cutout")
    (again,) = api.call({"op": "list"})["tasks"]
    assert again["members"][0]["qc_score"] == record["qc_score"]
    api.call({"op": "decide", "task_id": again["task_id"], "decision": "approve"})
    assert aws.wait(keys, timeout_s=240).by_status == {"exported": 1}


def test_the_review_page_shows_which_gate_signal_fired_and_marks_where_on_the_photo_at_1_to_1(
        gated, tmp_path: Path) -> None:
    # A thin chain (jewelry in the manifest: a person decides) the model mostly misses, the backdrop kept between
    # its links: the gate says what it found and where.
    from PIL import Image

    from packshot.imaging.png import decode_png_rgba

    aws = gated
    aws.upload([EXAMPLES / "manifest.csv"], EXAMPLES)
    keys = aws.upload([EXAMPLES / "chain_necklace.jpg"], EXAMPLES)
    assert aws.wait(keys, timeout_s=240).by_status == {"needs_review": 1}
    record = aws.records_by_key()["chain_necklace.jpg"]
    gate = record["gate"]
    assert not gate["passes"] and gate["fired"], gate
    # The first fired signal with a place (disagreement, a whole-cutout measure, has none).
    first = next(name for name in gate["fired"] if gate["regions"].get(name))
    x0, y0, x1, y1 = gate["regions"][first][0]
    s3, work = aws.client("s3"), aws.physical("WorkBucket")
    _, overlay_alpha = decode_png_rgba(s3.get_object(Bucket=work, Key=gate["overlay_key"])["Body"].read())
    master = s3.get_object(Bucket=work, Key=record["outputs"]["master"])["Body"].read()
    width, height = Image.open(io.BytesIO(master)).size
    sx, sy = overlay_alpha.shape[1] / width, overlay_alpha.shape[0] / height
    # The overlay marks the fired signal inside the box the record names (both in the photo's pixels).
    assert overlay_alpha[int(y0 * sy):int(y1 * sy) + 1, int(x0 * sx):int(x1 * sx) + 1].any()

    with review_page_in_chromium(aws) as page:
        task = page.locator("section.task", has_text="chain_necklace.jpg")
        finding = task.locator(f"ul.findings li[data-signal={first}]")
        assert "marked on the photo" in task.locator("div.gate").inner_text()
        assert finding.count() == 1
        before = task.locator("figure.before")
        photo, overlay = before.locator("img[alt=before]"), before.locator("img.gate-overlay")
        for image in (photo, overlay):
            page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=image.element_handle())
        finding.locator("a.region").first.click()
        shown = before.evaluate("""f => {
            const p = f.querySelector('img[alt=before]'), o = f.querySelector('img.gate-overlay');
            return {zoom: f.querySelector('.mask-box').dataset.zoom, pw: p.clientWidth, ph: p.clientHeight,
                    nw: p.naturalWidth, ow: o.clientWidth, oh: o.clientHeight, dpr: window.devicePixelRatio};
        }""")
        assert shown["zoom"] == "1"
        assert shown["pw"] == round(shown["nw"] / shown["dpr"]) == width  # the photo at 1:1
        assert (shown["ow"], shown["oh"]) == (shown["pw"], shown["ph"])  # the map over the same pixels
        page.screenshot(path=str(tmp_path / "review_gate.png"))
        task.locator("input.show-gate").uncheck()
        assert not overlay.is_visible()
