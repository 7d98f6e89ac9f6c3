"""Names made from keys: every image and every batch gets its own export files, package and report row."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from packshot import pipeline
from packshot.config import Settings
from packshot.delivery import build_package
from packshot.events import ObjectRef
from packshot.imaging.finish import crop_to_fill
from packshot.imaging.png import encode_png
from packshot.local.report import write_outputs
from packshot.stages import deliver as deliver_stage
from packshot.stages import export as export_stage
from tests.fakes import FakeRecords, FakeStore

# Pairs of keys that a name made from the key alone cannot tell apart.
LOOKALIKES = [("IMG_0001.jpg", "IMG_0001.png"), ("sub/x.jpg", "sub_x.jpg"), ("a b.jpg", "a-b.jpg"),
              ("shoot/IMG_0001.CR2", "shoot/IMG_0001.JPG")]


def finished_png(colour: tuple[int, int, int]) -> bytes:
    rgb = np.full((600, 600, 3), 255, np.uint8)
    alpha = np.zeros((600, 600), np.uint8)
    alpha[150:450, 200:400] = 255
    rgb[alpha == 255] = colour
    return encode_png(*crop_to_fill(rgb, alpha, fill=0.85))


def export(store: FakeStore, records: FakeRecords, key: str, colour: tuple[int, int, int]) -> str:
    image_id = ObjectRef("in", key, etag="e", version_id="", size=1).image_id
    store.objects[("work", f"work/{image_id}/final.png")] = finished_png(colour)
    records.update(image_id, {"source_key": key})
    state: pipeline.PipelineState = {"image_id": image_id, "bucket": "in", "key": key,
                                     "final_key": f"work/{image_id}/final.png", "platforms": ["shopify"]}
    export_stage.run(state, store, records, Settings(work_bucket="work", export_bucket="export"), now=lambda: "t")
    return image_id


@pytest.mark.parametrize("first, second", LOOKALIKES)
def test_two_images_whose_keys_look_alike_get_their_own_export_files_and_both_are_delivered(first, second) -> None:
    store, records = FakeStore(), FakeRecords()
    ids = [export(store, records, first, (200, 30, 30)), export(store, records, second, (30, 30, 200))]

    keys = [records.items[i]["exports"]["shopify"] for i in ids]
    assert keys[0] != keys[1]
    for image_id in ids:  # nothing was overwritten: each record's checksum is the file's
        (file,) = records.items[image_id]["export_files"]
        assert hashlib.sha256(store.objects[("export", file["key"])]).hexdigest() == file["sha256"]
        assert image_id in file["key"]  # and the key leads back to its record
    delivered, not_delivered = set(), []
    for batch in {records.items[i]["batch"] for i in ids}:
        package = build_package(batch, records.in_batch(batch), lambda k: store.objects[("export", k)])
        delivered |= {r["image_id"] for r in package.rows}
        not_delivered += package.not_delivered
    assert delivered == set(ids) and not_delivered == []


def test_batches_whose_names_look_alike_get_their_own_delivery_package() -> None:
    store, records = FakeStore(), FakeRecords()
    settings = Settings(export_bucket="export")

    keys = [deliver_stage.run(batch, store, records, settings)["keys"]["zip"] for batch in ("shoot 1", "shoot-1",
                                                                                            "shoot_1", "Shoot-1")]

    assert len(set(keys)) == 4, keys
    assert len({k.lower() for k in keys}) == 4  # not even a case-insensitive file system confuses them


def solid_jpeg(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(out, "JPEG")
    return out.getvalue()


def test_each_report_row_shows_its_own_image(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    colours = {"sub/x.jpg": (220, 20, 20), "sub_x.jpg": (20, 20, 220)}
    records = {}
    for number, (key, colour) in enumerate(colours.items()):
        (tmp_path / key).write_bytes(solid_jpeg(colour))
        records[key] = {"image_id": f"img-{number:032x}", "status": "exported", "reasons": [],
                        "outputs": {"cutout": f"work/{number}/cutout.png"},
                        "exports": {"shopify": f"exports/shopify/{number}.jpg"}}
    blobs = {f"work/{n}/cutout.png": solid_jpeg(c) for n, c in enumerate(colours.values())}
    blobs |= {f"exports/shopify/{n}.jpg": solid_jpeg(c) for n, c in enumerate(colours.values())}

    rows = write_outputs(records, list(colours), tmp_path, tmp_path / "out", fetch=lambda bucket, key: blobs[key])

    for row in rows:
        want = colours[row["name"]]
        for thumb in [*row["thumbs"].values(), row["cutout"]]:
            pixel = Image.open(tmp_path / "out" / thumb).convert("RGB").getpixel((5, 5))
            assert max(abs(a - b) for a, b in zip(pixel, want, strict=True)) < 40, (row["name"], thumb, pixel)
