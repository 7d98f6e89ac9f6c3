"""The auto-approval gate: each signal finds the failure it is named after, where it is, and the verdict says so."""

from __future__ import annotations

import numpy as np
import pytest

from packshot.gate import (
    FEATURES,
    SIGNAL_NAMES,
    GateModel,
    GateSignals,
    GateVerdict,
    default_gate,
    features,
    judge,
    measure_gate,
)

H, W = 900, 1200
BACKDROP = (214, 232, 214)  # a pastel green sweep, as the bench went out on


def sweep(colour: tuple[int, int, int] = BACKDROP, seed: int = 0) -> np.ndarray:
    """A lit studio sweep: the colour, a little darker towards the top, with sensor noise."""
    rng = np.random.default_rng(seed)
    light = 1.0 - 0.06 * np.linspace(1.0, 0.0, H)[:, None, None]
    rgb = np.asarray(colour, np.float32)[None, None, :] * light + rng.normal(0, 1.2, (H, W, 3))
    return np.clip(np.broadcast_to(rgb, (H, W, 3)), 0, 255).astype(np.float32)


def bench() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A wooden slatted bench: (photo, the true alpha, the alpha with the gaps between slats filled)."""
    rgb = sweep()
    truth = np.zeros((H, W), np.uint8)
    for top in range(250, 520, 60):  # five slats 36 px high with 24 px of backdrop between them
        truth[top : top + 36, 200:1000] = 255
    truth[520:760, 230:260] = truth[520:760, 940:970] = 255  # legs
    wood = np.array([150, 100, 60], np.float32)
    rgb[truth == 255] = wood
    filled = truth.copy()
    filled[250:556, 200:1000] = 255
    return rgb.astype(np.uint8), truth, filled


def white_box() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A white box on white: a shaded front face and a lid nearly as bright as the sweep, its outline faint.

    Returns (photo, the true alpha, the alpha with the lid cut away).
    """
    rgb = sweep((246, 246, 246))
    truth = np.zeros((H, W), np.uint8)
    truth[300:750, 400:800] = 255
    lid = np.zeros((H, W), bool)
    lid[200:300, 400:800] = True
    truth[lid] = 255
    rgb[300:750, 400:800] = (222, 222, 220)
    rgb[lid] = (252, 252, 252)
    rgb[200:203, 400:800] = rgb[200:300, 400:403] = rgb[200:300, 797:800] = (200, 200, 200)  # the lid's outline
    without_lid = truth.copy()
    without_lid[lid] = 0
    return rgb.astype(np.uint8), truth, without_lid


def red_box_with_shadow() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A red box standing on a soft contact shadow: (photo, true alpha, alpha that kept the shadow)."""
    rgb = sweep((240, 240, 240))
    truth = np.zeros((H, W), np.uint8)
    truth[250:650, 450:750] = 255
    yy, xx = np.mgrid[0:H, 0:W]
    shadow = np.clip(1.0 - ((xx - 600) / 260.0) ** 2 - ((yy - 660) / 60.0) ** 2, 0.0, 1.0)
    rgb *= (1.0 - 0.35 * shadow)[..., None]
    rgb[truth == 255] = (190, 30, 40)
    kept = truth.copy()
    kept[(shadow > 0.25) & (yy > 600)] = 255
    return rgb.astype(np.uint8), truth, kept


def test_backdrop_between_slats_kept_in_the_cutout_is_found_between_the_slats() -> None:
    rgb, truth, filled = bench()
    right, wrong = measure_gate(rgb, truth).signals, measure_gate(rgb, filled).signals
    assert right.backdrop_inside < 0.01
    assert wrong.backdrop_inside > 0.2
    x0, y0, x1, y1 = wrong.regions["backdrop_inside"][0]
    assert 200 <= x0 and x1 <= 1000 and 250 <= y0 and y1 <= 556  # inside the bench's seat, where the gaps are


def test_a_white_lid_cut_away_leaves_edges_outside_the_cutout_where_the_lid_is() -> None:
    rgb, truth, without_lid = white_box()
    right, wrong = measure_gate(rgb, truth).signals, measure_gate(rgb, without_lid).signals
    assert right.edges_outside < 0.02
    assert wrong.edges_outside > 0.1
    x0, y0, x1, y1 = wrong.regions["edges_outside"][0]
    assert 390 <= x0 and x1 <= 810 and 190 <= y0 and y1 <= 300



def grey_box_with_faint_top() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A grey box on white seen from above: its top face only 6 levels darker than the sweep, no edge a step
    detector sees, with a contact shadow under it (the demo's white box, as it went to Amazon at QC 100).

    Returns (photo, the true alpha, the alpha with the top face cut away).
    """
    rgb = sweep((252, 252, 252))
    truth = np.zeros((H, W), np.uint8)
    truth[330:760, 380:800] = 255  # the front face
    top = np.zeros((H, W), bool)
    top[230:330, 380:800] = True
    truth[top] = 255
    yy, xx = np.mgrid[0:H, 0:W]
    shadow = np.clip(1.0 - ((xx - 590) / 300.0) ** 2 - ((yy - 770) / 40.0) ** 2, 0.0, 1.0)
    rgb *= (1.0 - 0.3 * shadow)[..., None]
    rgb[330:760, 380:800] = (120, 118, 112)
    rgb[top] -= 6.0  # the sweep, 6 levels darker: a sharp but faint step
    without_top = truth.copy()
    without_top[top] = 0
    return rgb.astype(np.uint8), truth, without_top


def test_a_faint_top_face_cut_away_is_found_above_the_cutout_but_a_floor_shadow_left_out_is_not() -> None:
    rgb, truth, without_top = grey_box_with_faint_top()
    right, wrong = measure_gate(rgb, truth).signals, measure_gate(rgb, without_top).signals
    assert right.shaded_outside == 0.0  # the contact shadow under the box is outside the mask too: not counted
    assert wrong.shaded_outside > 0.03  # no good cutout of the fitting data reaches 0.02
    x0, y0, x1, y1 = wrong.regions["shaded_outside"][0]
    assert 370 <= x0 and x1 <= 810 and 220 <= y0 and y1 <= 335

def bottle_with_silver_cap() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A black bottle whose cap has two polished panels nearly as white as the sweep, between dark ones.

    Returns (photo, the true alpha, the alpha with the panels cleared as backdrop: two notches in the cap, the
    way the perfume's silver cap went out).
    """
    rgb = sweep((246, 244, 247))
    truth = np.zeros((H, W), np.uint8)
    truth[300:800, 500:700] = 255  # the bottle
    truth[180:300, 520:680] = 255  # the cap
    rgb[truth == 255] = (30, 30, 32)
    panels = np.zeros((H, W), bool)
    panels[180:290, 545:585] = panels[180:290, 615:655] = True
    rgb[panels] = (255, 255, 255)  # brighter and more neutral than the pinkish sweep, by a few levels only
    cleared = truth.copy()
    cleared[panels] = 0
    return rgb.astype(np.uint8), truth, cleared


def slotted_rack() -> tuple[np.ndarray, np.ndarray]:
    """A dark rack with slots the backdrop shows through: (photo, the true alpha, slots cleared)."""
    rgb = sweep()
    truth = np.zeros((H, W), np.uint8)
    truth[250:700, 400:800] = 255
    for left in range(440, 780, 80):
        truth[250:640, left : left + 30] = 0  # slots open at the top, backdrop behind
    rgb[truth == 255] = (60, 60, 70)
    return rgb.astype(np.uint8), truth


def test_light_panels_cleared_from_a_cap_leave_notches_the_backdrop_does_not_explain() -> None:
    rgb, truth, cleared = bottle_with_silver_cap()
    right, wrong = measure_gate(rgb, truth).signals, measure_gate(rgb, cleared).signals
    assert right.notched == 0.0
    assert wrong.notched > 0.02  # no good cutout of the fitting data reaches 0.02
    for x0, y0, x1, y1 in wrong.regions["notched"]:
        assert 540 <= x0 and x1 <= 660 and 175 <= y0 and y1 <= 295  # in the cap, where the panels are
    verdict = judge(wrong, {"raw_range": 1.0, "band_width": 1.0, "colour_agreement": 1.0, "area": 0.2})
    assert not verdict.passes and "notched" in verdict.fired


def test_slots_that_show_the_backdrop_are_not_notches() -> None:
    rgb, truth = slotted_rack()
    assert measure_gate(rgb, truth).signals.notched == 0.0


def test_a_light_case_the_cutout_left_out_does_not_raise_the_backdrop_noise_that_would_hide_it() -> None:
    """The compact's case: a light square around the round pan, a quarter of the frame, left out by the mask.

    Fitted to everything outside the mask, the backdrop bends towards the case and its noise rises to 10-18
    levels, which widens every tolerance until the case passes for backdrop; fitted from the frame's border
    first, the case is an outlier, the noise stays the sensor's and the case is found as product outside.
    """
    rgb = sweep((200, 200, 203))
    case = np.zeros((H, W), bool)
    case[150:750, 300:900] = True
    rgb[case] = (232, 232, 230)
    yy, xx = np.mgrid[0:H, 0:W]
    pan = ((yy - 450) ** 2 + (xx - 600) ** 2) < 240**2
    rgb[pan] = (180, 140, 110)
    photo = rgb.astype(np.uint8)
    truth = np.where(case, 255, 0).astype(np.uint8)
    pan_only = np.where(pan, 255, 0).astype(np.uint8)
    right, wrong = measure_gate(photo, truth).signals, measure_gate(photo, pan_only).signals
    assert wrong.backdrop_noise < 4.0  # the sweep's own noise (1.2 per channel), not the case
    assert wrong.product_outside > 0.2
    assert right.product_outside == 0.0
    verdict = judge(wrong, {"raw_range": 1.0, "band_width": 1.0, "colour_agreement": 1.0, "area": 0.22})
    assert not verdict.passes and "product_outside" in verdict.fired


def test_a_contact_shadow_kept_as_product_is_found_under_the_product_and_not_when_left_out() -> None:
    rgb, truth, kept = red_box_with_shadow()
    right, wrong = measure_gate(rgb, truth).signals, measure_gate(rgb, kept).signals
    assert right.shadow_kept < 0.005
    assert wrong.shadow_kept > 0.02
    assert wrong.regions["shadow_kept"][0][1] >= 600  # below the box's bottom edge


def test_every_signal_is_a_share_and_an_exact_cutout_of_a_clean_photo_has_little_against_it() -> None:
    rgb, truth, _ = red_box_with_shadow()
    values = measure_gate(rgb, truth).signals.values()
    assert set(values) == set(SIGNAL_NAMES)
    assert all(0.0 <= v <= 1.0 for v in values.values())
    assert values["disagreement"] < 0.1 and values["weak_outline"] < 0.1


def test_the_overlay_marks_each_signal_where_it_was_found_and_nothing_elsewhere() -> None:
    rgb, _, filled = bench()
    measured = measure_gate(rgb, filled)
    overlay = measured.overlay
    factor = W // overlay.shape[1]  # the gate measures at GATE_SIDE; the overlay is at that size
    assert overlay.shape[2] == 4 and overlay.shape[:2] == (H // factor, W // factor)
    marked = overlay[..., 3] > 0
    assert marked[290 // factor : 306 // factor, 300 // factor : 900 // factor].any()  # the first gap
    assert not marked[: 150 // factor].any() and not marked[800 // factor :].any()  # the sweep above and below


def _gate(min_confidence: float = 0.9) -> GateModel:
    weights = {name: 0.0 for name in FEATURES}
    weights["backdrop_inside"] = -20.0
    weights["edges_outside"] = -20.0
    return GateModel(weights=weights, bias=5.0, min_confidence=min_confidence)


def test_evidence_against_a_cutout_lowers_its_confidence_and_names_the_signal_and_its_place() -> None:
    rgb, truth, filled = bench()
    good = judge(measure_gate(rgb, truth).signals, {}, _gate())
    bad = judge(measure_gate(rgb, filled).signals, {}, _gate())
    assert good.passes and good.confidence > 0.99
    assert not bad.passes and bad.confidence < good.confidence
    assert bad.fired[0] == "backdrop_inside"
    reasons = " ".join(bad.reasons())
    assert "backdrop shows inside" in reasons and "at x " in reasons


def test_a_verdict_survives_the_trip_through_the_record_and_the_state_machine() -> None:
    rgb, _, filled = bench()
    verdict = judge(measure_gate(rgb, filled).signals, {}, _gate())
    again = GateVerdict.from_record(verdict.as_record())
    assert again == verdict


def test_the_committed_gate_has_a_non_positive_weight_for_every_feature_and_a_bar_it_was_fitted_to() -> None:
    gate = default_gate()
    assert set(gate.weights) == set(FEATURES)
    assert all(weight <= 0.0 for weight in gate.weights.values())  # evidence never raises confidence
    assert 0.5 < gate.min_confidence < 1.0
    assert gate.fitted_on["rows"] > 300 and "command" in gate.fitted_on


@pytest.mark.parametrize("name", SIGNAL_NAMES)
def test_more_of_any_signal_never_raises_the_committed_gate_confidence(name: str) -> None:
    quiet = GateSignals(**{n: 0.0 for n in SIGNAL_NAMES}, backdrop_noise=1.0)
    loud = GateSignals(**{n: (0.5 if n == name else 0.0) for n in SIGNAL_NAMES}, backdrop_noise=1.0)
    gate = default_gate()
    assert gate.confidence(features(loud, {})) <= gate.confidence(features(quiet, {}))
