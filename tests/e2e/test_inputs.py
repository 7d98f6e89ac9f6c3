"""Broken and odd uploads through the embedded AWS: each is a rejected record with a reason, originals untouched."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests import sample_files as sf

MANIFEST = b"filename,sku,category,client\ncut.dng,PS-77,shoes,Acme Studio\n"


@pytest.fixture()
def small_limit_aws(model_file: Path) -> Iterator[object]:
    from packshot.local.embedded import EmbeddedAws

    warnings.filterwarnings("ignore", message="No application metrics to publish")
    # A 5 MB object limit, so a test file can be over it without uploading 200 MB.
    with EmbeddedAws(log_level="ERROR", parameters={"MaxObjectBytes": "5000000"}) as aws:
        yield aws


def odd_files(tmp_path: Path) -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, a phrase the rejection reason must contain)."""
    big = np.random.default_rng(0).integers(0, 255, (1200, 1600, 3), dtype=np.uint8)
    files = {
        "empty.jpg": (b"", "empty (0 bytes)"),
        "cut.dng": (sf.truncated(sf.dng()), "DNG raw file from the Packshot Test Camera is cut short"),
        "renamed.heic": (sf.wrong_magic(sf.heic()), "not an image we can read"),
        "pages.tif": (sf.multipage_tiff(), "2 pages"),
        "invoice.jpg": (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", "a PDF document"),
        "huge.tif": (sf.save(Image.fromarray(big), "TIFF"), "over the 5,000,000 byte limit"),
    }
    for name, (data, _) in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "manifest.csv").write_bytes(MANIFEST)
    return files


def test_broken_and_odd_uploads_end_rejected_with_reasons_and_the_originals_stay_untouched(
        small_limit_aws, tmp_path: Path) -> None:
    aws = small_limit_aws
    files = odd_files(tmp_path)
    # The manifest first, as `packshot run` does: it is acknowledged by ingest, never made a record.
    aws.upload([tmp_path / "manifest.csv"], tmp_path)
    keys = aws.upload([tmp_path / name for name in files], tmp_path)

    progress = aws.wait(keys, timeout_s=180)

    assert progress.finished == len(keys), progress.line()
    records = aws.records_by_key()
    assert sorted(records) == sorted(keys)  # nothing for manifest.csv
    assert len(aws.executions()) == len(keys)
    for name, (data, phrase) in files.items():
        record = records[name]
        assert record["status"] == "rejected", (name, record)
        assert record["stage"] == "preprocess"
        assert phrase in record["reasons"][0], (name, record["reasons"])
        stored = aws.client("s3").get_object(Bucket=aws.input_bucket, Key=name)["Body"].read()
        assert stored == data, f"{name} was changed in the input bucket"
    # The manifest's metadata reaches the record even of a photo that is rejected.
    assert (records["cut.dng"]["sku"], records["cut.dng"]["category"], records["cut.dng"]["client"]) == (
        "PS-77", "shoes", "Acme Studio")
    work = aws.client("s3").list_objects_v2(Bucket=aws.work_bucket).get("KeyCount", 0)
    assert work == 0, "a rejected upload must not leave a working master"


def test_packshot_run_uploads_the_manifest_itself_and_its_categories_reach_the_records(
        tmp_path: Path, model_file: Path) -> None:
    from packshot.cli import find_manifests
    from packshot.cli import main as packshot_main

    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "manifest.csv").write_bytes(b"filename,category\nbroken.jpg,jewelry\n")
    (photos / "broken.jpg").write_bytes(sf.truncated(sf.jpeg()))
    assert find_manifests(photos) == [photos / "manifest.csv"]

    assert packshot_main(["run", str(photos), "--out", str(tmp_path / "out")]) == 0
    rows = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [r["name"] for r in rows] == ["broken.jpg"]
    assert rows[0]["status"] == "rejected"
    assert rows[0]["record"]["category"] == "jewelry"


def every_kind_of_file(folder: Path) -> dict[str, str]:
    """A studio's folder as it really arrives: name -> the status its report row must have."""
    import os

    from evidence import broken_files as bf

    heif = sf.heic()
    files: dict[str, tuple[bytes, str]] = {
        "camera.hif": (heif, "processed"),  # in-camera HEIF (Sony, Canon): HEIF under another suffix
        "photo.jfif": (sf.jpeg(), "processed"),
        "photo2.jpe": (sf.jpeg(), "processed"),
        "canon.cr3": (b"\0\0\0\x18ftypcrx \0\0\0\x01crx isom" + b"\0" * 400, "rejected"),
        "kodak.kdc": (b"MM\0*\0\0\0\x08" + b"\0" * 200, "rejected"),
        "picture.avif": (b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf" + b"\0" * 300, "rejected"),
        "logo.svg": (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "rejected"),
        ".DS_Store": (b"\0\0\0\1Bud1" + b"\0" * 100, "rejected"),
        "._photo.jpg": (b"\0\5\026\7\0\2\0\0Mac OS X        ", "rejected"),
        "notes.txt": (b"shoot notes", "rejected"),
        "white.jpg": (bf.blank("white"), "rejected"),
        "line.png": (bf.blank("line"), "rejected"),
        "damaged.jpg": (bf.damaged_restart_interval_jpeg(), "rejected"),
        "bad row.jpg": (sf.jpeg(), "rejected"),
        # The embedded S3 refuses a newline in a key (moto's routing): the run goes on and says so.
        "new\nline.jpg": (b"", "rejected"),
    }
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    # A name that is not UTF-8 (a Windows-1252 'é' from an old card reader).
    (folder / os.fsdecode(b"caf\xe9.jpg")).write_bytes(b"")
    (folder / "manifest.json").write_text('[{"filename": "bad row.jpg", "platforms": 5}]')
    expected = {name: status for name, (_, status) in files.items()}
    expected["caf\\xe9.jpg"] = "rejected"
    return expected


def test_packshot_run_gives_every_file_in_the_folder_a_row_and_exits_0_when_only_photos_were_rejected(
        tmp_path: Path, model_file: Path) -> None:
    from packshot.cli import main as packshot_main

    folder = tmp_path / "shoot"
    folder.mkdir()
    expected = every_kind_of_file(folder)

    assert packshot_main(["run", str(folder), "--out", str(tmp_path / "out"), "--approve-all"]) == 0
    rows = {r["name"]: r for r in json.loads((tmp_path / "out" / "report.json").read_text())}
    assert sorted(rows) == sorted(expected)
    for name, status in expected.items():
        row = rows[name]
        assert row["status"] != "failed", (name, row)
        if status == "rejected":
            assert row["status"] == "rejected" and row["reasons"], (name, row)
        else:
            assert row["status"] in ("exported", "redo", "rejected_by_reviewer"), (name, row)
    assert "row 1, column platforms" in rows["bad row.jpg"]["reasons"][0]
    assert "lower third" in rows["damaged.jpg"]["reasons"][0]
    assert "one colour" in rows["white.jpg"]["reasons"][0]
