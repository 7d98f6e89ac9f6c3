"""The cutout stage measures the backdrop for finishing, so its file can drop the photo under transparent pixels."""

from __future__ import annotations

import numpy as np
import pytest

from packshot.config import Settings
from packshot.stages.backdrop import Backdrop, measure_backdrop
from packshot.stages.finish import finish_cutout

SETTINGS = Settings()


def without_backdrop(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """What the cutout file carries behind the product: nothing (cutout.file_pixels)."""
    return rgb * (alpha != 0)[..., None]


def shot(height: int, width: int, backdrop: tuple[int, int, int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A noisy backdrop with a grey and a coloured product and a soft edge: what finishing measures on."""
    rng = np.random.default_rng(seed)
    rgb = np.clip(np.array(backdrop) + rng.normal(0, 3, (height, width, 3)), 0, 255).astype(np.uint8)
    alpha = np.zeros((height, width), np.uint8)
    top, left = height // 4, width // 4
    rgb[top : 3 * top, left : 2 * left] = (120, 118, 110)  # a grey panel lit by the same cast
    rgb[top : 3 * top, 2 * left : 3 * left] = (30, 60, 170)
    # A pale label whose levels ramp across QC's "nearly the backdrop" distance: a backdrop colour off by a
    # fraction of a level changes the colour score.
    ramp = np.linspace(-40.0, 0.0, left)[None, :, None] + np.array(backdrop)
    rgb[3 * top - 20 : 3 * top, left : 2 * left] = np.clip(ramp, 0, 255).astype(np.uint8)
    alpha[top : 3 * top, left : 3 * left] = 255
    alpha[top - 2 : top, left : 3 * left] = (90, 180)[seed % 2]  # a soft top edge
    return rgb, alpha


@pytest.mark.parametrize(
    ("size", "backdrop"),
    [
        ((300, 402), (244, 236, 222)),  # warm cast: gains applied
        ((301, 401), (238, 238, 238)),  # neutral: no gains
        ((1100, 1000), (236, 240, 248)),  # cool cast, big enough that both samples are strided
        ((255, 256), (120, 170, 235)),  # a coloured backdrop: left as shot
    ],
)
def test_finishing_decides_exactly_as_it_did_on_a_file_that_carried_the_photo(
    size: tuple[int, int], backdrop: tuple[int, int, int]
) -> None:
    rgb, alpha = shot(*size, backdrop, seed=sum(size))
    reference = (240.0, 240.0, 240.0)
    before = finish_cutout(rgb, alpha, route="simple", confidence=0.95, reference_white=reference, settings=SETTINGS)
    measured = Backdrop.from_state(measure_backdrop(rgb, alpha).to_state())  # through the state, as the stages do
    after = finish_cutout(without_backdrop(rgb, alpha), alpha, route="simple", confidence=0.95,
                          reference_white=reference, settings=SETTINGS, backdrop=measured)
    assert after.balance == before.balance
    assert after.qc == before.qc
    assert after.decision == before.decision and after.reasons == before.reasons
    np.testing.assert_array_equal(after.final_rgb, before.final_rgb)
    np.testing.assert_array_equal(after.final_alpha, before.final_alpha)


def test_without_the_measurement_a_file_with_no_photo_behind_loses_the_white_balance() -> None:
    # Why the measurement has to travel: zeros under alpha 0 are no studio white.
    rgb, alpha = shot(300, 400, (244, 236, 222), seed=1)
    blind = finish_cutout(without_backdrop(rgb, alpha), alpha, route="simple", confidence=0.95,
                          reference_white=None, settings=SETTINGS)
    seeing = finish_cutout(without_backdrop(rgb, alpha), alpha, route="simple", confidence=0.95,
                           reference_white=None, settings=SETTINGS, backdrop=measure_backdrop(rgb, alpha))
    assert not blind.balance.applied and seeing.balance.applied


def test_a_frame_that_is_all_product_has_no_backdrop_to_measure() -> None:
    rgb = np.full((50, 60, 3), 90, np.uint8)
    measured = measure_backdrop(rgb, np.full((50, 60), 255, np.uint8))
    assert measured == Backdrop(white=None, middle=None)
    assert measured.colour_after((1.1, 1.0, 0.9)) is None
    assert Backdrop.from_state(measured.to_state()) == measured


@pytest.mark.parametrize("value", [None, {}, {"white": None}, "not a dict"])
def test_a_state_without_a_measurement_means_measure_the_file(value: object) -> None:
    assert Backdrop.from_state(value) is None


@pytest.mark.parametrize("count", [7, 8, 1, 2])
def test_the_backdrop_colour_after_gains_is_the_median_qc_would_take_of_the_gained_pixels(count: int) -> None:
    from packshot.imaging.colour import apply_gains
    from packshot.imaging.qc import backdrop_sample

    rng = np.random.default_rng(count)
    rgb = np.zeros((1, 12, 3), np.uint8)
    rgb[0, :count] = rng.integers(180, 256, (count, 3))  # spread apart: the two middle values differ
    alpha = np.full((1, 12), 255, np.uint8)
    alpha[0, :count] = 0
    gains = (1.0731, 0.9812, 0.9177)
    expected = np.median(backdrop_sample(apply_gains(rgb, gains), alpha), axis=0)
    np.testing.assert_array_equal(measure_backdrop(rgb, alpha).colour_after(gains), expected)


def test_the_cutout_and_finish_stages_hand_the_measurement_over_in_the_state(model_file) -> None:
    from packshot import pipeline
    from packshot.cutout import cut_out
    from packshot.imaging.decode import decode_png_rgba
    from packshot.models.registry import default_path_for, load_model
    from tests.conftest import EXAMPLES
    from tests.unit.test_preprocess_stage import INPUT, WORK, FakeRecords, FakeStore

    settings = Settings(work_bucket=WORK, export_bucket="export", records_table="t")
    model = load_model(settings.model_name, default_path_for(settings.model_name))
    store, records = FakeStore(), FakeRecords()
    store.objects[INPUT, "shoot/mug.jpg"] = (EXAMPLES / "white_mug_on_white.jpg").read_bytes()
    state: pipeline.PipelineState = {"image_id": "img-1", "bucket": INPUT, "key": "shoot/mug.jpg", "name": "mug"}
    state = pipeline.preprocess(state, store, records, settings)
    state = pipeline.cut_out({**state, "route": "simple"}, store, records, settings, model)
    stored_rgb, stored_alpha = decode_png_rgba(store.objects[WORK, state["cutout_key"]])
    assert stored_rgb[stored_alpha == 0].max() == 0  # the file carries nothing behind the product
    pipeline.finish(state, store, records, settings)

    # What finishing decided when the cutout file still carried the photo under alpha 0.
    master = pipeline.load_master(state, store, settings)
    result = cut_out(master, model)
    photo = result.foreground if result.foreground is not None else master
    before = finish_cutout(photo, result.alpha, route="simple", confidence=result.confidence,
                           reference_white=pipeline._reference_white(state), settings=settings)
    record = records.items["img-1"]
    assert record["colour_normalisation"]["gains"] == list(before.balance.gains)
    assert record["colour_normalisation"]["measured_background"] == list(before.balance.measured_background or [])
    assert (record["qc_score"], record["qc_parts"]["colour"]) == (before.qc.score, before.qc.colour)
    assert record["reasons"] == list(before.reasons)
