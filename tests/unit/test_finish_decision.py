"""The finish stage's decision: QC judges the picture, the gate the cutout; no route skips the gate."""

from __future__ import annotations

import numpy as np
import pytest

from packshot.config import Settings
from packshot.gate import SIGNAL_NAMES, GateSignals, GateVerdict
from packshot.stages.finish import EMPTY_CUTOUT_REASON, MAX_UPSCALE, UNJUDGED_REASON, finish_cutout

SETTINGS = Settings()


def clean_cutout() -> tuple[np.ndarray, np.ndarray]:
    rgb = np.full((1000, 1000, 3), 250, np.uint8)
    alpha = np.zeros((1000, 1000), np.uint8)
    alpha[200:800, 300:700] = 255
    rgb[alpha == 255] = (40, 60, 170)
    return rgb, alpha


def verdict(passes: bool) -> GateVerdict:
    signals = GateSignals(**{name: 0.0 for name in SIGNAL_NAMES}, backdrop_noise=1.0,
                          regions={"backdrop_inside": [[310, 400, 690, 420]]})
    fired = () if passes else ("backdrop_inside",)
    return GateVerdict(confidence=0.99 if passes else 0.4, passes=passes, fired=fired, signals=signals,
                       min_confidence=0.9)


def decide(route: str, gate: GateVerdict | None, alpha: np.ndarray | None = None):
    rgb, clean = clean_cutout()
    return finish_cutout(rgb, clean if alpha is None else alpha, route=route, verdict=gate, reference_white=None,
                         settings=SETTINGS)


def test_a_clean_cutout_the_gate_passes_is_approved() -> None:
    done = decide("simple", verdict(True))
    assert done.qc.score >= 90 and done.decision == "approve" and done.status == "approved"


@pytest.mark.parametrize("route", ["simple", "medium"])
def test_a_cutout_the_gate_doubts_goes_to_a_person_on_every_route_with_the_signal_and_its_place(route: str) -> None:
    done = decide(route, verdict(False))
    assert done.qc.decision == "approve"  # the picture itself is fine
    assert done.decision == "review"
    reason = next(r for r in done.reasons if "auto-approval gate" in r)
    assert "0.40 < 0.90" in reason and "backdrop shows inside" in reason and "x 310-690, y 400-420" in reason


def test_a_cutout_no_gate_judged_a_corrected_upload_goes_to_a_person() -> None:
    done = decide("simple", None)
    assert done.decision == "review" and UNJUDGED_REASON in done.reasons


def test_a_category_that_routes_complex_goes_to_a_person_even_when_qc_and_the_gate_pass() -> None:
    done = decide("complex", verdict(True))
    assert done.decision == "review"


def test_an_empty_cutout_goes_to_a_person_instead_of_failing_the_stage() -> None:
    rgb, _ = clean_cutout()
    done = decide("simple", verdict(True), alpha=np.zeros(rgb.shape[:2], np.uint8))
    assert done.decision == "review" and done.reasons[0] == EMPTY_CUTOUT_REASON
    assert done.final_rgb.min() == 255


@pytest.mark.parametrize("across", [3, 40, 200])
def test_a_product_photographed_too_small_for_its_frame_goes_to_a_person_with_its_size(across: int) -> None:
    # A careless client's speck on a big photo: QC and the gate may both pass a sharp 3 px square, but its frame
    # would be enlarged hundreds of times into a blob on every platform.
    rgb, _ = clean_cutout()
    alpha = np.zeros(rgb.shape[:2], np.uint8)
    alpha[500:500 + across, 480:480 + across] = 255
    done = decide("simple", verdict(True), alpha=alpha)
    assert done.decision != "approve"  # QC rejects the 3 px speck outright; the others wait for a person
    assert done.reasons[0].startswith(f"the product is {across} px across in the photo")
    assert f"to reach the {SETTINGS.min_side} px" in done.reasons[0]


def test_a_product_big_enough_to_enlarge_within_the_limit_is_not_held_for_its_size() -> None:
    # The smallest frame that may be enlarged to the zoom minimum: its product is fill x that side across.
    across = int(np.ceil(SETTINGS.min_side / MAX_UPSCALE * SETTINGS.fill)) + 1
    rgb, _ = clean_cutout()
    alpha = np.zeros(rgb.shape[:2], np.uint8)
    alpha[400:400 + across, 400:400 + across] = 255
    rgb[alpha == 255] = (40, 60, 170)
    done = decide("simple", verdict(True), alpha=alpha)
    assert not any("px across" in reason for reason in done.reasons)
    assert done.decision == "approve"


def test_a_photo_under_the_zoom_minimum_given_to_the_core_is_held_to_its_own_size() -> None:
    # Pre-processing turns such photos away; the evaluation's small renders reach the core directly. The same
    # 100 px product is small in a 1000 px photo and not in a 400 px one.
    def held(side: int) -> bool:
        rgb = np.full((side, side, 3), 250, np.uint8)
        alpha = np.zeros((side, side), np.uint8)
        alpha[150:250, 150:250] = 255
        rgb[alpha == 255] = (40, 60, 170)
        done = finish_cutout(rgb, alpha, route="simple", verdict=verdict(True), reference_white=None,
                             settings=SETTINGS)
        return any("px across" in reason for reason in done.reasons)

    assert held(1000) and not held(400)
