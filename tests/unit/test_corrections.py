"""A reviewer's corrected cutout is finished and scored again, and a person sees the result before any export."""

from __future__ import annotations

import numpy as np
import pytest

from packshot import pipeline
from packshot.imaging.png import encode_png
from packshot.stages import finish as finish_stage
from tests.fakes import FakeRecords, FakeStore
from tests.unit.test_finish_decision import verdict
from tests.unit.test_preprocess_stage import INPUT, SETTINGS, WORK


def banner_cutout() -> bytes:
    """What a forged correction looked like: a flat, perfectly cut rectangle (QC scores it near 100)."""
    rgb = np.full((1200, 1200, 3), 255, np.uint8)
    alpha = np.zeros((1200, 1200), np.uint8)
    alpha[300:900, 250:950] = 255
    rgb[alpha == 255] = (200, 20, 20)
    return encode_png(rgb, alpha)


def finish(cutout_key: str) -> tuple[pipeline.PipelineState, FakeRecords]:
    store, records = FakeStore(read_only={INPUT}), FakeRecords()
    store.objects[WORK, cutout_key] = banner_cutout()
    # The gate passed the machine's cutout (work/img-1/cutout.png): its verdict names that key only.
    gate = {**verdict(True).as_record(), "cutout_key": "work/img-1/cutout.png", "overlay_key": "work/img-1/gate.png"}
    state: pipeline.PipelineState = {"image_id": "img-1", "route": "simple", "master_key": "work/img-1/master.png",
                                     "cutout_key": cutout_key, "confidence": 1.0, "gate": gate}
    return finish_stage.run(state, store, records, SETTINGS, now=lambda: "t"), records


def test_the_machine_s_cutout_with_a_top_score_is_approved_for_export() -> None:
    state, _ = finish("work/img-1/cutout.png")

    assert state["decision"] == "approve"  # the control: QC alone would export this


@pytest.mark.parametrize("key", ["review/img-1/3f2a.png", "review/img-1/nested/again.png"])
def test_a_corrected_cutout_with_a_top_score_still_goes_to_a_person_before_export(key: str) -> None:
    state, records = finish(key)

    record = records.items["img-1"]
    assert state["decision"] == "review" and record["status"] == "processing"
    assert record["qc_score"] >= 90  # it was scored again like any cutout
    assert record["reasons"][0].startswith("corrected cutout")
