"""The whole flow on the embedded AWS: upload to S3, let the events run, assert on records and exported pixels."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from packshot.cli import main as packshot_main
from packshot.errors import TransientStorageError
from tests.conftest import EXAMPLES

ACCEPTABLE = ["box_on_white.jpg", "teal_glass_bottle.jpg"]
BAD = ["broken.jpg", "small_cream_jar.jpg"]


def upload(aws, names: list[str], metadata: dict | None = None) -> list[str]:
    return aws.upload([EXAMPLES / n for n in names], EXAMPLES, metadata)


def decoded(aws, bucket: str, key: str) -> np.ndarray:
    data = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_each_upload_ends_with_one_record_and_good_photos_are_exported_on_pure_white(embedded) -> None:
    aws = embedded
    keys = upload(aws, ACCEPTABLE + BAD)

    progress = aws.wait(keys, timeout_s=300)

    assert progress.finished == len(keys), progress.line()
    records = aws.records_by_key()
    assert sorted(records) == sorted(keys)
    assert len(aws.executions()) == len(keys)
    for name in BAD:
        assert records[name]["status"] == "rejected"
        assert records[name]["reasons"], name
    assert "JPEG file is cut short" in records["broken.jpg"]["reasons"][0]
    assert "under the 1000 px minimum" in records["small_cream_jar.jpg"]["reasons"][0]
    for name in ACCEPTABLE:
        record = records[name]
        assert record["status"] == "exported", (name, record.get("reasons"))
        assert record["qc_score"] >= 90
        for key in record["exports"].values():
            pixels = decoded(aws, aws.export_bucket, key)
            assert max(pixels.shape[:2]) >= 1000
            # The product fills 85% of the longest side, so a 5% frame all round is background: exactly 255.
            band = max(1, int(min(pixels.shape[:2]) * 0.05))
            frame = np.concatenate([pixels[:band].reshape(-1, 3), pixels[-band:].reshape(-1, 3),
                                    pixels[:, :band].reshape(-1, 3), pixels[:, -band:].reshape(-1, 3)])
            assert (frame == 255).all(), key
    for key in keys:  # originals untouched
        stored = aws.client("s3").get_object(Bucket=aws.input_bucket, Key=key)["Body"].read()
        assert stored == (EXAMPLES / key).read_bytes()


def test_the_same_object_delivered_twice_gives_one_execution_and_one_record(embedded_without_event_sources):
    aws = embedded_without_event_sources
    keys = upload(aws, ["box_on_white.jpg"])
    sqs = aws.client("sqs")
    queue = aws.physical("IngestQueue")
    bodies = []
    while True:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            break
        for m in got:
            bodies.append(m["Body"])
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    s3_events = [b for b in bodies if "Records" in json.loads(b)]
    assert len(s3_events) == 1
    for _ in range(2):  # S3's at-least-once delivery: the same notification twice
        sqs.send_message(QueueUrl=queue, MessageBody=s3_events[0])

    aws.start_event_sources()
    progress = aws.wait(keys, timeout_s=300)

    assert progress.finished == 1
    assert len(aws.executions()) == 1
    records = aws.records_by_key()
    assert len(records) == 1 and records["box_on_white.jpg"]["status"] == "exported"


def test_a_category_from_object_metadata_routes_jewelry_to_a_human(embedded) -> None:
    aws = embedded
    keys = upload(aws, ["box_on_white.jpg"], {"box_on_white.jpg": {"category": "jewelry"}})
    aws.wait(keys, timeout_s=120)
    record = aws.records_by_key()["box_on_white.jpg"]
    assert record["route"] == "complex"
    assert record["status"] == "needs_review"
    assert "exports" not in record


def test_a_stage_that_breaks_leaves_a_failed_record_naming_the_stage(embedded) -> None:
    aws = embedded

    def break_classify(function_name: str, event: object) -> None:
        if function_name == aws.physical("ClassifyFunction"):
            raise RuntimeError("simulated bug in classify")

    aws.runtime.fault_injector = break_classify
    keys = upload(aws, ["box_on_white.jpg"])
    aws.wait(keys, timeout_s=120)

    record = aws.records_by_key()["box_on_white.jpg"]
    assert record["status"] == "failed"
    assert record["stage"] == "classify"
    assert record["failure"]["error"] == "RuntimeError"
    assert [e["status"] for e in aws.executions()] == ["FAILED"]


def test_a_transient_storage_error_is_retried_by_the_state_machine(embedded) -> None:
    aws = embedded
    calls = {"n": 0}

    def flaky_preprocess(function_name: str, event: object) -> None:
        if function_name == aws.physical("PreprocessFunction"):
            calls["n"] += 1
            if calls["n"] == 1:
                raise TransientStorageError("simulated S3 hiccup")

    aws.runtime.fault_injector = flaky_preprocess
    keys = upload(aws, ["box_on_white.jpg"])
    aws.wait(keys, timeout_s=120)

    assert calls["n"] == 2
    assert aws.records_by_key()["box_on_white.jpg"]["status"] == "exported"


def test_packshot_run_writes_exports_cutouts_and_a_report_for_every_input(tmp_path: Path, model_file: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ["box_on_white.jpg", *BAD]:
        shutil.copy(EXAMPLES / name, photos / name)
    out = tmp_path / "out"

    assert packshot_main(["run", str(photos), "--out", str(out)]) == 0

    rows = json.loads((out / "report.json").read_text())
    assert {r["name"]: r["status"] for r in rows} == {
        "box_on_white.jpg": "exported", "broken.jpg": "rejected", "small_cream_jar.jpg": "rejected"}
    csv_lines = (out / "report.csv").read_text().strip().splitlines()
    assert csv_lines[0] == "name,status,route,qc_score,reasons,exports" and len(csv_lines) == 4
    box = next(r for r in rows if r["name"] == "box_on_white.jpg")
    image_id = box["record"]["image_id"]
    # Named after the source and the image id: names made from keys alone can collide.
    assert box["cutout"] == f"cutouts/box_on_white-{image_id}.png"
    assert Image.open(out / box["cutout"]).mode == "RGBA"
    for platform in ("amazon_main", "shopify"):
        assert box["exports"][platform] == f"exports/{platform}/box_on_white-{image_id}.jpg"
        assert (out / box["exports"][platform]).is_file()
    html = (out / "report.html").read_text()
    for name in ["box_on_white.jpg", "broken.jpg", "small_cream_jar.jpg"]:
        assert f'id="{name}"' in html
    for src in [s.split('"')[0] for s in html.split('src="')[1:]]:
        assert (out / src).is_file(), src
    # The delivery package of the batch (photos at the bucket root form the batch "default").
    import csv
    import hashlib
    import zipfile

    from packshot.delivery import batch_slug

    delivery = out / "deliveries" / batch_slug("default")
    archive = zipfile.ZipFile(delivery / f"{batch_slug('default')}.zip")
    manifest = list(csv.DictReader((delivery / "manifest.csv").open(encoding="utf-8")))
    images = sorted(n for n in archive.namelist() if not n.startswith("manifest."))
    assert images == ["amazon_main/box_on_white.jpg", "shopify/box_on_white.jpg"]
    assert sorted(row["file"] for row in manifest) == images
    for row in manifest:
        data = archive.read(row["file"])
        assert row["sha256"] == hashlib.sha256(data).hexdigest() and int(row["bytes"]) == len(data)
        assert row["source"] == "box_on_white.jpg" and float(row["qc_score"]) >= 90
    assert "no asin, ean, upc or isbn" in next(r for r in manifest if r["platform"] == "amazon_main")["naming_note"]
    not_delivered = json.loads(archive.read("manifest.json"))["not_delivered"]
    assert sorted(n["source"] for n in not_delivered) == BAD


def test_packshot_run_refuses_a_missing_directory(tmp_path: Path) -> None:
    assert packshot_main(["run", str(tmp_path / "nope")]) == 2


@pytest.mark.parametrize("name", ["box_on_white.jpg"])
def test_packshot_cutout_writes_one_rgba_png_per_input(tmp_path: Path, model_file: Path, name: str) -> None:
    assert packshot_main(["cutout", str(EXAMPLES / name), "--out", str(tmp_path)]) == 0
    im = Image.open(tmp_path / f"{Path(name).stem}.png")
    assert im.mode == "RGBA" and im.size == Image.open(EXAMPLES / name).size
    alpha = np.asarray(im)[..., 3]
    assert alpha[0, 0] == 0 and alpha[alpha.shape[0] // 2, alpha.shape[1] // 2] == 255
