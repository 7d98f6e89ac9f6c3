"""The stage files as the stages put and get them: what a browser and the next stage see, and damage refused."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from packshot import pipeline
from packshot.config import Settings
from packshot.errors import StageFileError, UndecodableImageError
from packshot.imaging.icc import srgb_profile
from packshot.imaging.png import decode_png_rgba, encode_png
from packshot.stages import export as export_stage
from packshot.stages import finish as finish_stage
from packshot.stages import preprocess as preprocess_stage
from packshot.stages.backdrop import measure_backdrop
from tests import sample_files as sf
from tests.fakes import FakeRecords, FakeStore

INPUT, WORK = "input", "work"
SETTINGS = Settings(work_bucket=WORK, export_bucket="export", records_table="t")


def _preprocessed() -> tuple[pipeline.PipelineState, FakeStore, FakeRecords, np.ndarray]:
    rgb = sf.scene(product=(40, 60, 160))
    store, records = FakeStore(read_only={INPUT}), FakeRecords()
    store.objects[INPUT, "shoot/a.png"] = sf.png(rgb)
    state: pipeline.PipelineState = {"image_id": "img-1", "bucket": INPUT, "key": "shoot/a.png", "name": "a.png"}
    return preprocess_stage.run(state, store, records, SETTINGS, now=lambda: "t"), store, records, rgb


def _with_cutout(state: pipeline.PipelineState, store: FakeStore, rgb: np.ndarray) -> pipeline.PipelineState:
    """A cutout file as the cutout stage writes it: the product's pixels, alpha 0 around it."""
    alpha = np.zeros(rgb.shape[:2], np.uint8)
    alpha[sf.H // 4 : 3 * sf.H // 4, sf.W // 3 : 2 * sf.W // 3] = 255
    store.objects[WORK, "work/img-1/cutout.png"] = encode_png(rgb, alpha)
    return {**state, "cutout_key": "work/img-1/cutout.png", "confidence": 1.0,
            "backdrop": measure_backdrop(rgb, alpha).to_state()}


def test_the_master_is_a_browser_safe_srgb_png_holding_exactly_the_decoded_photo() -> None:
    state, store, _, rgb = _preprocessed()
    data = store.objects[WORK, state["master_key"]]
    with Image.open(io.BytesIO(data)) as shown:  # what the review page's "before" link serves
        assert shown.format == "PNG" and shown.mode == "RGB"
        assert shown.info.get("icc_profile") == srgb_profile()
        np.testing.assert_array_equal(np.asarray(shown), rgb)
    np.testing.assert_array_equal(pipeline.load_master(state, store, SETTINGS), rgb)


def test_the_finished_file_is_an_rgba_png_with_nothing_under_its_transparent_pixels() -> None:
    state, store, records, rgb = _preprocessed()
    state = finish_stage.run(_with_cutout(state, store, rgb), store, records, SETTINGS, now=lambda: "t")
    data = store.objects[WORK, state["final_key"]]
    with Image.open(io.BytesIO(data)) as shown:  # the review page's "after"
        assert shown.format == "PNG" and shown.mode == "RGBA"
        pixels = np.asarray(shown)
    transparent = pixels[..., 3] == 0
    assert transparent.any() and (pixels[..., 3] == 255).any()
    assert not pixels[transparent].any()
    final_rgb, final_alpha = decode_png_rgba(data)
    np.testing.assert_array_equal(final_alpha, pixels[..., 3])
    np.testing.assert_array_equal(final_rgb, pixels[..., :3])


def _damaged(data: bytes, how: str) -> bytes:
    if how == "cut short":
        return data[: len(data) * 2 // 3]
    if how == "a JPEG instead":
        buffer = io.BytesIO()
        Image.fromarray(decode_png_rgba(data)[0]).save(buffer, "JPEG")
        return buffer.getvalue()
    if how == "an error page instead":
        return b"<Error><Code>InternalError</Code></Error>"
    raise AssertionError(how)


DAMAGE = ["cut short", "a JPEG instead", "an error page instead"]


@pytest.mark.parametrize("how", DAMAGE)
def test_the_cutout_stage_refuses_a_damaged_master_with_a_reason(how: str) -> None:
    state, store, _, _ = _preprocessed()
    store.objects[WORK, state["master_key"]] = _damaged(store.objects[WORK, state["master_key"]], how)
    with pytest.raises(StageFileError, match="rerun the previous stage") as caught:
        pipeline.load_master(state, store, SETTINGS)
    assert isinstance(caught.value, UndecodableImageError) and caught.value.reason


@pytest.mark.parametrize("how", DAMAGE)
def test_finishing_refuses_a_damaged_cutout_and_writes_nothing(how: str) -> None:
    state, store, records, rgb = _preprocessed()
    state = _with_cutout(state, store, rgb)
    store.objects[WORK, state["cutout_key"]] = _damaged(store.objects[WORK, state["cutout_key"]], how)
    with pytest.raises(StageFileError, match="working PNG cannot be read"):
        finish_stage.run(state, store, records, SETTINGS, now=lambda: "t")
    assert (WORK, "work/img-1/final.png") not in store.objects


@pytest.mark.parametrize("how", DAMAGE)
def test_export_refuses_a_damaged_finished_file_and_delivers_nothing(how: str) -> None:
    state, store, records, rgb = _preprocessed()
    state = finish_stage.run(_with_cutout(state, store, rgb), store, records, SETTINGS, now=lambda: "t")
    store.objects[WORK, state["final_key"]] = _damaged(store.objects[WORK, state["final_key"]], how)
    with pytest.raises(StageFileError, match="rerun the previous stage"):
        export_stage.run(state, store, records, SETTINGS, now=lambda: "t")
    assert not [key for bucket, key in store.objects if bucket == "export"]
