"""Transparent outputs carry the product's own colour at the edge: no light halo when put on a dark page."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from packshot import pipeline
from packshot.config import Settings
from packshot.models.base import SegmentationModel
from packshot.stages import classify as classify_stage
from packshot.stages import cutout as cutout_stage
from packshot.stages import export as export_stage
from packshot.stages import finish as finish_stage
from packshot.stages import preprocess as preprocess_stage
from tests.conftest import EXAMPLES
from tests.fakes import FakeRecords, FakeStore
from tests.unit.test_preprocess_stage import INPUT, WORK

LUMA = np.array([0.2126, 0.7152, 0.0722])


@pytest.fixture(scope="module")
def model(model_file: Path) -> SegmentationModel:
    from packshot.models.registry import default_path_for, load_model

    return load_model(Settings().model_name, default_path_for(Settings().model_name))


def fringe(rgb: np.ndarray, alpha: np.ndarray) -> float:
    """How much brighter than the product its soft edge looks on a black page, in levels (mean over the edge).

    On black an edge pixel shows alpha * colour; made of the product's own colour it shows alpha * product.
    The backdrop's white left in the edge colour is what a dark page shows as a light ring.
    """
    luminance = rgb.astype(np.float64) @ LUMA
    product = float(np.median(luminance[alpha == 255]))
    edge = (alpha > 25) & (alpha < 230)
    assert edge.sum() > 200, "no soft edge to judge"
    return float(np.mean(alpha[edge] / 255.0 * (luminance[edge] - product)))


@pytest.fixture(scope="module")
def headphones(model: SegmentationModel) -> dict[str, float]:
    """The fringe of the cutout core's own decontaminated colours, and of the photo's colours, on the example."""
    from packshot.cutout import cut_out, decode_rgb

    rgb = decode_rgb(EXAMPLES / "headphones.jpg")
    result = cut_out(rgb, model)
    assert result.foreground is not None
    return {"decontaminated": fringe(result.foreground, result.alpha), "photo": fringe(rgb, result.alpha)}


def test_the_transparent_png_export_of_a_dark_product_shows_no_light_ring_on_black(
    model: SegmentationModel, headphones: dict[str, float]
) -> None:
    settings = Settings(work_bucket=WORK, export_bucket="export", records_table="t",
                        export_platforms=("transparent_png",))
    store, records = FakeStore(read_only={INPUT}), FakeRecords()
    store.objects[INPUT, "shoot/headphones.jpg"] = (EXAMPLES / "headphones.jpg").read_bytes()
    state: pipeline.PipelineState = {"image_id": "img-1", "bucket": INPUT, "key": "shoot/headphones.jpg",
                                     "name": "headphones.jpg"}
    for stage in (preprocess_stage.run, classify_stage.run):
        state = stage(state, store, records, settings)
    state = cutout_stage.run(state, store, records, settings, model)
    state = finish_stage.run(state, store, records, settings)
    export_stage.run(state, store, records, settings)
    key = records.items["img-1"]["exports"]["transparent_png"]
    rgba = np.asarray(Image.open(io.BytesIO(store.objects["export", key])).convert("RGBA"))
    exported = fringe(rgba[..., :3], rgba[..., 3])
    # Finishing and export add no white to the edge (compositing on white first, or resampling the white
    # behind the product into it, would): the export keeps the cutout's decontaminated edge.
    assert exported <= headphones["decontaminated"] + 3, (exported, headphones)
    assert exported < headphones["photo"] - 15, (exported, headphones)


def test_a_packshot_cutout_file_of_a_dark_product_shows_no_light_ring_on_black(
    model: SegmentationModel, headphones: dict[str, float], tmp_path: Path
) -> None:
    from packshot.cutout import cut_out_files

    written = cut_out_files([EXAMPLES / "headphones.jpg"], tmp_path, model_name=model.name, model_path=model.path)
    rgba = np.asarray(Image.open(written[0]).convert("RGBA"))
    assert fringe(rgba[..., :3], rgba[..., 3]) == pytest.approx(headphones["decontaminated"], abs=0.5)
    assert rgba[rgba[..., 3] == 0][:, :3].max() == 0  # and no photo behind the product
