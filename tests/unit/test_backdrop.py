"""The cutout stage measures the backdrop for finishing, so its file can drop the photo under transparent pixels."""

from __future__ import annotations

import numpy as np
import pytest

from packshot.config import Settings
from packshot.stages.backdrop import Backdrop, measure_backdrop
from packshot.stages.finish import finish_cutout
from tests.unit.test_finish_decision import verdict

SETTINGS = Settings()
PASSING = verdict(True)


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
    # A pale label close to the backdrop: its colour after the white balance shows any difference in the gains.
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
    before = finish_cutout(rgb, alpha, route="simple", verdict=PASSING, reference_white=reference, settings=SETTINGS)
    measured = Backdrop.from_state(measure_backdrop(rgb, alpha).to_state())  # through the state, as the stages do
    after = finish_cutout(without_backdrop(rgb, alpha), alpha, route="simple", verdict=PASSING,
                          reference_white=reference, settings=SETTINGS, backdrop=measured)
    assert after.balance == before.balance
    assert after.qc == before.qc
    assert after.decision == before.decision and after.reasons == before.reasons
    np.testing.assert_array_equal(after.final_rgb, before.final_rgb)
    np.testing.assert_array_equal(after.final_alpha, before.final_alpha)


def test_without_the_measurement_a_file_with_no_photo_behind_loses_the_white_balance() -> None:
    # Why the measurement has to travel: zeros under alpha 0 are no studio white.
    rgb, alpha = shot(300, 400, (244, 236, 222), seed=1)
    blind = finish_cutout(without_backdrop(rgb, alpha), alpha, route="simple", verdict=PASSING,
                          reference_white=None, settings=SETTINGS)
    seeing = finish_cutout(without_backdrop(rgb, alpha), alpha, route="simple", verdict=PASSING,
                           reference_white=None, settings=SETTINGS, backdrop=measure_backdrop(rgb, alpha))
    assert not blind.balance.applied and seeing.balance.applied


def test_a_frame_that_is_all_product_has_no_backdrop_to_measure() -> None:
    rgb = np.full((50, 60, 3), 90, np.uint8)
    measured = measure_backdrop(rgb, np.full((50, 60), 255, np.uint8))
    assert measured == Backdrop(white=None)
    assert Backdrop.from_state(measured.to_state()) == measured


@pytest.mark.parametrize("value", [None, {}, {"middle": [[1, 2], [1, 2], [1, 2]]}, "not a dict"])
def test_a_state_without_a_measurement_means_measure_the_file(value: object) -> None:
    assert Backdrop.from_state(value) is None


def test_the_cutout_and_finish_stages_hand_the_measurement_over_in_the_state(model_file) -> None:
    from packshot import pipeline
    from packshot.imaging.png import decode_png_rgba
    from packshot.models.registry import default_path_for, load_model
    from packshot.stages import cutout as cutout_stage
    from packshot.stages import finish as finish_stage
    from packshot.stages import preprocess as preprocess_stage
    from packshot.stages.cutout import cut_out_photo
    from tests.conftest import EXAMPLES
    from tests.fakes import FakeRecords, FakeStore
    from tests.unit.test_preprocess_stage import INPUT, WORK

    settings = Settings(work_bucket=WORK, export_bucket="export", records_table="t")
    model = load_model(settings.model_name, default_path_for(settings.model_name))
    store, records = FakeStore(read_only={INPUT}), FakeRecords()
    store.objects[INPUT, "shoot/mug.jpg"] = (EXAMPLES / "white_mug_on_white.jpg").read_bytes()
    state: pipeline.PipelineState = {"image_id": "img-1", "bucket": INPUT, "key": "shoot/mug.jpg", "name": "mug"}
    state = preprocess_stage.run(state, store, records, settings)
    state = cutout_stage.run({**state, "route": "simple"}, store, records, settings, model)
    stored_rgb, stored_alpha = decode_png_rgba(store.objects[WORK, state["cutout_key"]])
    assert stored_rgb[stored_alpha == 0].max() == 0  # the file carries nothing behind the product
    finish_stage.run(state, store, records, settings)

    # What finishing decided when the cutout file still carried the photo under alpha 0.
    master = pipeline.load_master(state, store, settings)
    cutout = cut_out_photo(master, model)
    result = cutout.result
    photo = result.foreground if result.foreground is not None else master
    before = finish_cutout(photo, result.alpha, route="simple", verdict=cutout.verdict,
                           reference_white=finish_stage.reference_white_of(state), settings=settings)
    record = records.items["img-1"]
    assert record["colour_normalisation"]["gains"] == list(before.balance.gains)
    assert record["colour_normalisation"]["measured_background"] == list(before.balance.measured_background or [])
    assert (record["qc_score"], record["qc_parts"]["colour"]) == (before.qc.score, before.qc.colour)
    assert record["reasons"] == list(before.reasons)
    # The gate's verdict on the record and in the state is the one on the master photo.
    assert {k: v for k, v in state["gate"].items() if k not in ("cutout_key", "overlay_key")} == \
        cutout.verdict.as_record()


def test_the_gate_judges_the_master_photo_not_the_file_that_carries_nothing_behind_the_product(model_file) -> None:
    from dataclasses import asdict

    from packshot.gate import judge, measure_gate
    from packshot.imaging.decode import decode_image
    from packshot.models.registry import default_path_for, load_model
    from packshot.stages.cutout import cut_out_photo
    from tests.conftest import EXAMPLES

    settings = Settings()
    model = load_model(settings.model_name, default_path_for(settings.model_name))
    master = decode_image((EXAMPLES / "white_mug_on_white.jpg").read_bytes()).pixels
    cutout = cut_out_photo(master, model)
    assert cutout.pixels[cutout.alpha == 0].max() == 0  # the file's pixels: nothing behind the product

    model_signals = asdict(cutout.result.signals) if cutout.result.signals is not None else {}
    on_master = judge(measure_gate(master, cutout.alpha).signals, model_signals)
    on_file = judge(measure_gate(cutout.pixels, cutout.alpha).signals, model_signals)
    assert cutout.verdict.as_record() == on_master.as_record()
    assert on_file.as_record()["signals"] != on_master.as_record()["signals"]  # the two can be told apart
