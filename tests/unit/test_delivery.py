"""Batches, rules overrides from config, the export stage's records, and the delivery package."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile

import numpy as np
import pytest

from packshot import pipeline
from packshot.config import Settings
from packshot.delivery import batch_for, batch_slug, build_package, load_rules, platforms_for
from packshot.imaging.finish import crop_to_fill
from packshot.imaging.png import encode_png
from packshot.platforms import PlatformRulesError
from packshot.stages import deliver as deliver_stage
from packshot.stages import export as export_stage
from tests.fakes import FakeRecords, FakeStore


def test_the_batch_is_the_top_level_folder_or_the_metadata_field() -> None:
    assert batch_for("shoot 01/day 2/a.jpg") == "shoot 01"
    assert batch_for("a.jpg") == "default"
    assert batch_for("shoot/a.jpg", "spring-2025") == "spring-2025"


def test_a_record_platform_list_wins_over_the_deployment_default() -> None:
    assert platforms_for(["etsy", "etsy", " ebay "], ("amazon_main",)) == ["etsy", "ebay"]
    assert platforms_for([], ("amazon_main", "shopify")) == ["amazon_main", "shopify"]
    assert platforms_for(None, ("amazon_main",)) == ["amazon_main"]


def test_overrides_come_from_a_local_file_or_s3(tmp_path) -> None:
    path = tmp_path / "client.yaml"
    path.write_text("platforms:\n  my_shop:\n    extends: shopify\n    max_bytes: 3000000\n")
    assert load_rules(str(path), lambda b, k: b"")["my_shop"].max_bytes == 3_000_000
    s3 = {("work", "config/rules.json"): json.dumps({"platforms": {"etsy": {"max_bytes": 900000}}}).encode()}
    assert load_rules("s3://work/config/rules.json", lambda b, k: s3[(b, k)])["etsy"].max_bytes == 900_000
    assert load_rules("", lambda b, k: b"")["etsy"].max_bytes == 1_000_000
    with pytest.raises(PlatformRulesError, match="is not a file"):
        load_rules(str(tmp_path / "missing.json"), lambda b, k: b"")


def finished_png() -> bytes:
    rgb = np.full((600, 600, 3), 255, np.uint8)
    alpha = np.zeros((600, 600), np.uint8)
    alpha[150:450, 200:400] = 255
    rgb[alpha == 255] = (180, 30, 40)
    return encode_png(*crop_to_fill(rgb, alpha, fill=0.85))


def image_id(key: str) -> str:
    return "img-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def export_one(key: str, metadata: dict[str, str], platforms: list[str], tmp_path=None,
               overrides: str = "") -> tuple[FakeStore, FakeRecords]:
    store = FakeStore()
    records = FakeRecords()
    settings = Settings(work_bucket="work", export_bucket="export", platform_rules_overrides=overrides)
    store.objects[("work", "final.png")] = finished_png()
    store.objects[("in", key)] = b"the photo"
    store.metadata[("in", key)] = metadata
    state: pipeline.PipelineState = {"image_id": image_id(key), "bucket": "in", "key": key, "final_key": "final.png",
                                     "platforms": platforms, "sku": metadata.get("sku", "")}
    export_stage.run(state, store, records, settings, now=lambda: "t")
    return store, records


def test_export_writes_each_platform_and_records_names_sizes_and_checksums() -> None:
    store, records = export_one("shoot/red.jpg", {"asin": "B00RED0001", "sku": "RED-1"},
                                ["amazon_main", "google_shopping", "nope"])
    record = records.items[image_id("shoot/red.jpg")]
    assert record["status"] == "exported" and record["batch"] == "shoot"
    red = image_id("shoot/red.jpg")
    assert record["exports"] == {"amazon_main": f"exports/amazon_main/shoot_red-{red}.jpg",
                                 "google_shopping": f"exports/google_shopping/shoot_red-{red}.webp"}
    files = {(f["platform"], f["format"]): f for f in record["export_files"]}
    assert set(files) == {("amazon_main", "JPEG"), ("google_shopping", "WEBP"), ("google_shopping", "JPEG")}
    assert files[("amazon_main", "JPEG")]["name"] == "B00RED0001.MAIN.jpg"
    for f in files.values():
        data = store.objects[("export", f["key"])]
        assert f["sha256"] == hashlib.sha256(data).hexdigest() and f["bytes"] == len(data)
    assert record["export_problems"] == [
        "nope: no such platform in the rules (known: " + ", ".join(sorted(load_rules("", None))) + ")"]


def test_a_file_that_fails_its_platform_is_not_delivered_and_the_record_says_why(tmp_path) -> None:
    rules = tmp_path / "rules.json"
    # 2 KB cannot hold a 2200 px Walmart square at any quality, and the size is fixed, so it cannot shrink.
    rules.write_text(json.dumps({"platforms": {"walmart": {"max_bytes": 2000}}}))
    store, records = export_one("a.jpg", {"gtin": "00012345678905"}, ["walmart", "amazon_main"],
                                overrides=str(rules))
    record = records.items[image_id("a.jpg")]
    assert set(record["exports"]) == {"amazon_main"}
    assert not [key for bucket, key in store.objects if key.startswith("exports/walmart/")]
    assert record["export_problems"][0].startswith("walmart JPEG: not delivered: file is")
    assert "byte limit" in record["export_problems"][0]


def test_a_missing_id_is_noted_on_the_record() -> None:
    _, records = export_one("a.jpg", {}, ["walmart"])
    record = records.items[image_id("a.jpg")]
    assert record["export_files"][0]["name"] == "a.jpg"
    assert record["naming_notes"] == ["walmart: no gtin, upc or ean in the metadata; named a.jpg after the source file"]


def record(image_id: str, source: str, files: list[tuple[str, str, bytes]], status: str = "exported") -> dict:
    return {"image_id": image_id, "source_key": source, "status": status, "sku": image_id.upper(), "qc_score": 93,
            "export_files": [{"platform": p, "format": "JPEG", "key": f"exports/{p}/{image_id}.jpg", "name": name,
                              "sha256": hashlib.sha256(data).hexdigest(), "width": 10, "height": 10}
                             for p, name, data in files]}


def test_the_package_names_collisions_apart_and_lists_every_file_with_its_checksum() -> None:
    blobs = {"exports/amazon_secondary/b.jpg": b"bbb", "exports/amazon_secondary/a.jpg": b"aaa",
             "exports/shopify/a.jpg": b"sss"}
    records = [
        record("b", "shoot/b.jpg", [("amazon_secondary", "B0X.PT01.jpg", b"bbb")]),
        record("a", "shoot/a.jpg", [("amazon_secondary", "B0X.PT01.jpg", b"aaa"), ("shopify", "a.jpg", b"sss")]),
        {"image_id": "c", "source_key": "shoot/c.jpg", "status": "needs_review", "reasons": ["complex route"]},
    ]
    package = build_package("shoot", records, blobs.__getitem__)
    archive = zipfile.ZipFile(io.BytesIO(package.zip_bytes))
    assert archive.read("amazon_secondary/B0X.PT01.jpg") == b"aaa"  # a.jpg sorts first: it keeps the name
    assert archive.read("amazon_secondary/B0X.PT02.jpg") == b"bbb"
    rows = list(csv.DictReader(io.StringIO(package.manifest_csv.decode())))
    assert [(r["file"], r["sha256"]) for r in rows] == [
        ("amazon_secondary/B0X.PT01.jpg", hashlib.sha256(b"aaa").hexdigest()),
        ("amazon_secondary/B0X.PT02.jpg", hashlib.sha256(b"bbb").hexdigest()),
        ("shopify/a.jpg", hashlib.sha256(b"sss").hexdigest())]
    assert package.not_delivered == [{"source": "shoot/c.jpg", "image_id": "c", "status": "needs_review",
                                      "reasons": ["complex route"]}]
    again = build_package("shoot", list(reversed(records)), blobs.__getitem__)
    assert again.zip_bytes == package.zip_bytes  # deterministic: a re-run with nothing new is byte-identical


def test_a_file_changed_since_export_is_left_out_with_the_reason() -> None:
    records = [record("a", "a.jpg", [("shopify", "a.jpg", b"original")])]
    package = build_package("default", records, lambda key: b"overwritten")
    assert package.rows == []
    assert "changed since it was exported" in package.not_delivered[0]["reasons"][0]


def test_deliver_writes_the_zip_and_manifests_under_the_batch_and_rejects_a_missing_batch() -> None:
    store = FakeStore({("export", "exports/shopify/a.jpg"): b"sss"})
    records = FakeRecords({"a": {**record("a", "shoot 01/a.jpg", [("shopify", "a.jpg", b"sss")]),
                                 "batch": "shoot 01"}})
    settings = Settings(export_bucket="export")
    result = deliver_stage.run("shoot 01", store, records, settings, now=lambda: "t")
    slug = batch_slug("shoot 01")
    assert slug.startswith("shoot-01-")
    assert result["keys"] == {"zip": f"deliveries/{slug}/{slug}.zip",
                              "manifest_csv": f"deliveries/{slug}/manifest.csv",
                              "manifest_json": f"deliveries/{slug}/manifest.json"}
    assert result["files"] == 1 and all(("export", k) in store.objects for k in result["keys"].values())
    from packshot.delivery import DeliveryRequestError

    with pytest.raises(DeliveryRequestError):
        deliver_stage.run(" ", store, records, settings)


def test_more_images_than_amazon_takes_for_one_asin_are_left_out_with_a_problem_on_their_record() -> None:
    blobs = {f"exports/amazon_main/{n}.jpg": bytes([n]) for n in range(10)}
    records = FakeRecords({str(n): {**record(str(n), f"shoot/{n:02d}.jpg",
                                            [("amazon_main", "B0X.MAIN.jpg", bytes([n]))]), "batch": "shoot"}
                           for n in range(10)})
    for n in range(10):
        records.items[str(n)]["export_files"][0]["key"] = f"exports/amazon_main/{n}.jpg"
    store = FakeStore(objects={("export", k): v for k, v in blobs.items()})

    result = deliver_stage.run("shoot", store, records, Settings(export_bucket="export"), now=lambda: "t")

    manifest = json.loads(store.objects[("export", result["keys"]["manifest_json"])])
    assert sorted(f["file"] for f in manifest["files"]) == sorted(
        ["amazon_main/B0X.MAIN.jpg"] + [f"amazon_main/B0X.PT0{n}.jpg" for n in range(1, 9)])
    (left_out,) = manifest["not_delivered"]
    assert left_out["image_id"] == "9" and "MAIN and PT01-PT08" in left_out["reasons"][0]
    assert records.items["9"]["delivery_problems"] == left_out["reasons"]
    assert records.items["0"].get("delivery_problems", []) == []
