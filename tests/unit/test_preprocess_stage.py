"""The preprocess and finish stages with small fakes: masters, limits, metadata, shoot groups, white balance."""

from __future__ import annotations

import io

import numpy as np
import pytest
import tifffile
from PIL import Image

from packshot import pipeline
from packshot.config import Settings
from packshot.imaging.icc import srgb_profile
from packshot.imaging.png import decode_png_rgba, encode_png
from packshot.stages import classify as classify_stage
from packshot.stages import export as export_stage
from packshot.stages import finish as finish_stage
from packshot.stages import preprocess as preprocess_stage
from packshot.stages.backdrop import measure_backdrop
from tests import sample_files as sf
from tests.fakes import FakeRecords, FakeStore

INPUT, WORK = "input", "work"
SETTINGS = Settings(work_bucket=WORK, export_bucket="export", records_table="t")


def run_preprocess(key: str, data: bytes, settings: Settings = SETTINGS, *, metadata: dict[str, str] | None = None,
                   extra: dict[str, bytes] | None = None) -> tuple[pipeline.PipelineState, FakeStore, FakeRecords]:
    store, records = FakeStore(read_only={INPUT}), FakeRecords()
    store.objects[INPUT, key] = data
    store.metadata[INPUT, key] = metadata or {}
    for other, body in (extra or {}).items():
        store.objects[INPUT, other] = body
    state: pipeline.PipelineState = {"image_id": "img-1", "bucket": INPUT, "key": key, "name": key}
    return preprocess_stage.run(state, store, records, settings, now=lambda: "t"), store, records


def test_a_16_bit_tiff_gets_an_8_bit_pipeline_master_and_a_16_bit_editing_master_with_srgb() -> None:
    state, store, records = run_preprocess("shoot/photo.tif", sf.tiff16())
    record = records.items["img-1"]
    assert record["status"] == "processing" and record["bit_depth"] == 16
    rgb, _ = decode_png_rgba(store.objects[WORK, state["master_key"]])
    assert rgb.shape == (sf.H, sf.W, 3)
    with tifffile.TiffFile(io.BytesIO(store.objects[WORK, record["editing_master_key"]])) as tif:
        page = tif.pages[0]
        master = page.asarray()
        assert master.dtype == np.uint16 and tuple(master[0, 0]) == (1000, 2000, 3000)
        assert page.compression == 8  # deflate
        assert page.tags[34675].value == srgb_profile()
    assert pipeline.load_master(state, store, SETTINGS).shape == (sf.H, sf.W, 3)


def test_an_8_bit_jpeg_with_gps_gets_an_8_bit_editing_master_without_any_exif() -> None:
    state, store, records = run_preprocess("photo.jpg", sf.jpeg(exif=sf.gps_exif()))
    record = records.items["img-1"]
    assert record["bit_depth"] == 8 and record["gps_removed"] is True
    # An 8-bit source has nothing the 8-bit master loses: the master is the editing master, no TIFF is written.
    assert record["editing_master_key"] == state["master_key"]
    assert not [key for _, key in store.objects if key.endswith(".tif")]
    data = store.objects[WORK, record["editing_master_key"]]
    with Image.open(io.BytesIO(data)) as master:
        tags = master.getexif()
        assert master.mode == "RGB" and master.format == "PNG"
        # A TIFF's own tags read as EXIF here: no GPS or EXIF block, and no orientation left to apply.
        assert 0x8825 not in tags and 0x8769 not in tags and 0x0112 not in tags
        assert master.info.get("icc_profile") == srgb_profile()


def test_an_object_over_the_byte_limit_is_rejected_from_its_head_without_downloading_it() -> None:
    state, store, records = run_preprocess("big.jpg", sf.jpeg(), Settings(work_bucket=WORK, max_object_bytes=1000))
    assert state["status"] == "rejected"
    assert "over the 1,000 byte limit" in records.items["img-1"]["reasons"][0]
    assert (INPUT, "big.jpg") not in store.reads
    assert not [k for k in store.objects if k[0] == WORK]


def test_a_broken_upload_is_rejected_with_a_reason_and_its_metadata_and_left_untouched() -> None:
    data = sf.truncated(sf.png())
    state, store, records = run_preprocess("b/broken.png", data, metadata={"sku": "PS-9"})
    record = records.items["img-1"]
    assert (state["status"], record["status"], record["stage"]) == ("rejected", "rejected", "preprocess")
    assert "PNG data is damaged" in record["reasons"][0] and "cut short" in record["reasons"][0]
    assert record["sku"] == "PS-9"
    assert store.objects[INPUT, "b/broken.png"] == data


def test_metadata_comes_from_the_manifest_beside_the_photo_and_object_metadata_wins() -> None:
    manifest = b"filename,sku,category,client,platforms\nmug.jpg,PS-1,home,Acme,amazon_main\n"
    state, _, records = run_preprocess("shoot/mug.jpg", sf.jpeg(), metadata={"client": "Override"},
                                       extra={"shoot/manifest.csv": manifest})
    record = records.items["img-1"]
    assert (record["category"], record["sku"], record["client"], record["platforms"]) == (
        "home", "PS-1", "Override", ["amazon_main"])
    assert state["category"] == "home" and state["platforms"] == ["amazon_main"]
    assert record["metadata_notes"] == ["manifest: shoot/manifest.csv"]


def test_a_broken_manifest_is_noted_and_the_deployment_defaults_apply() -> None:
    _, _, records = run_preprocess("shoot/mug.jpg", sf.jpeg(), extra={"shoot/manifest.json": b"{oops"})
    record = records.items["img-1"]
    assert record["platforms"] == list(SETTINGS.export_platforms) and record["category"] == ""
    assert "not valid JSON" in record["metadata_notes"][0]


def test_two_photos_of_one_shoot_get_one_group_and_its_reference_white() -> None:
    first, _, records_a = run_preprocess("shoot/a.jpg", sf.jpeg(sf.scene(product=(30, 30, 200))))
    second, _, _records_b = run_preprocess("shoot/b.jpg", sf.jpeg(sf.scene(product=(30, 160, 30))))
    assert first["shoot_group"] == second["shoot_group"]
    assert records_a.items["img-1"]["shoot_group"] == first["shoot_group"]
    assert first["reference_white"] == second["reference_white"]
    other, _, _ = run_preprocess("shoot/c.jpg", sf.jpeg(sf.scene(background=(200, 215, 240))))
    assert other["shoot_group"] != first["shoot_group"]


@pytest.mark.parametrize("warm", [True, False])
def test_finish_removes_the_background_cast_and_qc_does_not_count_it_as_a_colour_shift(warm: bool) -> None:
    light = (1.0, 0.96, 0.88) if warm else (1.0, 1.0, 1.0)
    background = tuple(round(245 * f) for f in light)
    grey = tuple(round(128 * f) for f in light)
    rgb = sf.scene(background=background, product=grey)  # type: ignore[arg-type]
    alpha = np.zeros((sf.H, sf.W), dtype=np.uint8)
    alpha[sf.H // 4 : 3 * sf.H // 4, sf.W // 3 : 2 * sf.W // 3] = 255
    store, records = FakeStore(read_only={INPUT}), FakeRecords()
    store.objects[WORK, "work/img-1/cutout.png"] = encode_png(rgb, alpha)
    pre, _, _ = run_preprocess("shoot/a.jpg", sf.png(rgb))
    # The cutout file carries no photo under its transparent pixels: the backdrop the cutout stage measured
    # before dropping it travels in the state, as cutout_stage.run hands it on.
    state: pipeline.PipelineState = {**pre, "cutout_key": "work/img-1/cutout.png", "confidence": 1.0,
                                     "backdrop": measure_backdrop(rgb, alpha).to_state()}
    finish_stage.run(state, store, records, SETTINGS, now=lambda: "t")
    record = records.items["img-1"]
    normalisation = record["colour_normalisation"]
    final, final_alpha = decode_png_rgba(store.objects[WORK, "work/img-1/final.png"])
    product = final[final_alpha == 255].astype(int)
    assert (product.max(axis=1) - product.min(axis=1)).max() <= 2  # neutral grey after finishing
    if warm:
        assert normalisation["source"] == "group" and normalisation["gains"] != [1.0, 1.0, 1.0]
        assert normalisation["shoot_group"] == pre["shoot_group"]
    else:
        assert normalisation["gains"] == [1.0, 1.0, 1.0]
    assert record["qc_parts"]["colour"] == 25


def test_classify_reads_the_small_preview_and_routes_as_it_would_on_the_full_master() -> None:
    from packshot.imaging.complexity import classify

    rgb = sf.scene(product=(30, 30, 200))
    state, store, records = run_preprocess("shoot/a.png", sf.png(rgb))
    preview, _ = decode_png_rgba(store.objects[WORK, state["preview_key"]])
    assert max(preview.shape[:2]) <= 512 < max(rgb.shape[:2])
    store.reads.clear()
    routed = classify_stage.run(state, store, records, SETTINGS, now=lambda: "t")
    assert store.reads == [(WORK, state["preview_key"])]
    full = classify(rgb)
    assert routed["route"] == full.route
    assert records.items["img-1"]["scores"]["edge_complexity"] == full.edge_complexity


def test_a_state_from_before_previews_existed_is_classified_from_the_master() -> None:
    state, store, records = run_preprocess("shoot/a.png", sf.png(sf.scene()))
    old = {k: v for k, v in state.items() if k != "preview_key"}
    store.reads.clear()
    classify_stage.run(old, store, records, SETTINGS, now=lambda: "t")  # type: ignore[arg-type]
    assert store.reads == [(WORK, state["master_key"])]


def test_a_bad_manifest_row_rejects_its_photo_naming_row_and_column_and_the_next_photo_goes_on() -> None:
    manifest = b'[{"filename": "ring.jpg", "platforms": 5}, {"filename": "mug.jpg", "gtin": "00012345678905"}]'
    state, _, records = run_preprocess("shoot/ring.jpg", sf.jpeg(), extra={"shoot/manifest.json": manifest})
    record = records.items["img-1"]
    assert (state["status"], record["status"]) == ("rejected", "rejected")
    assert "row 1, column platforms" in record["reasons"][0] and "a number" in record["reasons"][0]

    state, _, records = run_preprocess("shoot/mug.jpg", sf.jpeg(), extra={"shoot/manifest.json": manifest})
    assert state["status"] == "processing" and state["gtin"] == "00012345678905"
    assert records.items["img-1"]["gtin"] == "00012345678905"


def test_a_manifest_read_only_in_part_says_so_on_the_record() -> None:
    manifest = b'filename,sku,title\nmug.jpg,PS-1,Mug\nring.jpg,PS-2,"Ring\n'
    _, _, records = run_preprocess("shoot/mug.jpg", sf.jpeg(), extra={"shoot/manifest.csv": manifest})
    notes = records.items["img-1"]["metadata_notes"]
    assert notes[0].startswith("manifest: shoot/manifest.csv (read in part:") and "never closed" in notes[0]


def test_a_platform_the_rules_do_not_know_rejects_the_photo() -> None:
    manifest = b"filename,platforms\nmug.jpg,amazon_main;amazn\n"
    state, _, records = run_preprocess("shoot/mug.jpg", sf.jpeg(), extra={"shoot/manifest.csv": manifest})
    assert state["status"] == "rejected" and "'amazn' is not a platform" in records.items["img-1"]["reasons"][0]


def test_the_export_names_the_walmart_file_after_the_manifests_gtin() -> None:
    from packshot.naming import file_name

    state, store, _ = run_preprocess(
        "shoot/mug.jpg", sf.jpeg(), extra={"shoot/manifest.csv": b"filename,gtin\nmug.jpg,00012345678905\n"})
    metadata = export_stage.naming_metadata(state, store)
    assert file_name("{gtin}.{ext}", metadata, state["key"], "walmart", "jpg").name == "00012345678905.jpg"
