"""QC scoring: each part loses points for its own failure, and the decision follows the score."""

from __future__ import annotations

import numpy as np
import pytest

from packshot.imaging.finish import composite_on_white, crop_to_fill
from packshot.imaging.qc import QcResult, QcThresholds, score_qc


def disc_mask(width: int, height: int, radius: float, soft: float, centre=None) -> np.ndarray:
    """A disc whose edge ramps from 0 to 255 over `soft` pixels (soft 0.5 = crisp, anti-aliased)."""
    cy, cx = centre if centre is not None else (height / 2, width / 2)
    y, x = np.mgrid[0:height, 0:width]
    distance = np.hypot(y + 0.5 - cy, x + 0.5 - cx)
    return np.clip((radius - distance) / soft * 127.5 + 127.5, 0, 255).astype(np.uint8)


def photo(
    width: int = 800,
    height: int = 600,
    colour=(30, 90, 200),
    background=(225, 225, 225),
    soft: float = 0.5,
    radius: float = 200,
    centre=None,
):
    """A source photo of a disc-shaped product and the model's mask for it."""
    alpha = disc_mask(width, height, radius, soft, centre)
    rgb = np.empty((height, width, 3), np.uint8)
    rgb[...] = background
    rgb[alpha > 0] = colour
    return rgb, alpha


def finish(rgb: np.ndarray, alpha: np.ndarray, fill: float = 0.85):
    out_rgb, out_alpha = crop_to_fill(rgb, alpha, fill=fill)
    return composite_on_white(out_rgb, out_alpha), out_alpha


def score(rgb, alpha, final=None, **kwargs) -> QcResult:
    final_rgb, final_alpha = final if final is not None else finish(rgb, alpha)
    return score_qc(rgb, alpha, final_rgb, final_alpha, **kwargs)


def test_a_clean_cutout_scores_full_marks_and_is_approved() -> None:
    result = score(*photo())
    assert result == QcResult(100, 25.0, 25.0, 25.0, 25.0, "approve", ())


def test_a_soft_mask_edge_loses_edge_points_with_the_band_width_in_the_reason() -> None:
    rgb, alpha = photo(soft=14)
    result = score(rgb, alpha)
    assert result.edge_quality < 15
    assert result.background == result.product_fill == 25.0
    reason = next(r for r in result.reasons if r.startswith("edge quality"))
    assert "uncertain band" in reason and f"{round(result.edge_quality)}/25" in reason


def test_edge_softness_is_judged_at_a_1000_px_reference() -> None:
    # A 3 px ramp on a 3200 px frame looks like under 1 px on a marketplace page.
    rgb, alpha = photo(width=3200, height=2400, radius=800, soft=3)
    assert score(rgb, alpha).edge_quality == 25.0
    rgb, alpha = photo(soft=3 * 4)
    assert score(rgb, alpha).edge_quality < 25.0


def test_stray_specks_in_the_mask_cost_edge_points() -> None:
    rgb, alpha = photo()
    rng = np.random.default_rng(0)
    ys, xs = rng.integers(0, 100, 15), rng.integers(0, 100, 15)
    alpha[ys * 2 + 2, xs * 2 + 2] = 255  # separated single pixels in the top-left corner
    rgb[alpha == 255] = (30, 90, 200)
    result = score(rgb, alpha, final=finish(*photo()))
    assert 5 < result.edge_quality < 15
    assert any("15 stray specks" in r for r in result.reasons)


def test_pinholes_inside_the_product_count_as_specks() -> None:
    rgb, alpha = photo()
    alpha[300, 380:420:4] = 0
    assert any("10 stray specks" in r for r in score(rgb, alpha).reasons)


def test_an_empty_mask_scores_zero_for_edges_and_fill_and_is_rejected() -> None:
    rgb, _ = photo()
    empty = np.zeros(rgb.shape[:2], np.uint8)
    result = score_qc(rgb, empty, composite_on_white(rgb, empty), empty)
    assert result.edge_quality == 0 and result.product_fill == 0
    assert result.decision == "reject"
    assert any("empty" in r for r in result.reasons)


def test_a_mask_covering_the_whole_frame_scores_zero_for_edges_and_fill() -> None:
    rgb, _ = photo()
    full = np.full(rgb.shape[:2], 255, np.uint8)
    result = score_qc(rgb, full, rgb, full)
    assert result.edge_quality == 0 and result.product_fill == 0
    assert any("100% of the frame" in r for r in result.reasons)


def test_a_product_cut_off_by_the_original_frame_gets_no_fill_points() -> None:
    rgb, alpha = photo(centre=(300, 120))  # the disc runs off the left edge
    result = score(rgb, alpha)
    assert result.product_fill == 0
    assert any("cut off" in r for r in result.reasons)
    assert result.decision == "review"


def test_fill_far_from_the_target_loses_fill_points() -> None:
    rgb, alpha = photo()
    result = score(rgb, alpha, final=finish(rgb, alpha, fill=0.7))
    assert 5 < result.product_fill < 15
    assert any("fills 70% of the frame, target 85%" in r for r in result.reasons)
    assert score(rgb, alpha, final=finish(rgb, alpha, fill=0.6)).product_fill == 0
    assert score(rgb, alpha, final=finish(rgb, alpha, fill=0.84)).product_fill == 25.0


def test_a_colour_shift_after_finishing_loses_colour_points() -> None:
    rgb, alpha = photo()
    final_rgb, final_alpha = finish(rgb, alpha)
    shifted = final_rgb.copy()
    shifted[final_alpha == 255] = (30, 90, 220)
    result = score(rgb, alpha, final=(shifted, final_alpha))
    assert result.colour < 10
    assert any("shifted by 20.0 levels" in r for r in result.reasons)


def test_clipped_product_pixels_lose_colour_points() -> None:
    rgb, alpha = photo(colour=(255, 255, 255), background=(90, 90, 90))
    result = score(rgb, alpha)
    assert result.colour == 0
    assert any("clipped to pure white" in r for r in result.reasons)


def test_a_white_product_on_white_keeps_its_colour_points_the_gate_weighs_that_risk() -> None:
    rgb, alpha = photo(colour=(244, 244, 244), background=(255, 255, 255))
    result = score(rgb, alpha)
    assert result.colour == 25.0 and result.decision == "approve"


def test_a_product_that_touches_the_frame_is_never_approved_by_qc() -> None:
    rgb, alpha = photo()
    alpha[:, :5] = 255
    result = score(rgb, alpha, thresholds=QcThresholds(approve=0))
    assert result.decision == "review"
    assert any("touches the edge of the photo" in r for r in result.reasons)


def test_a_background_that_is_not_pure_white_fails_and_cannot_auto_approve() -> None:
    rgb, alpha = photo()
    final_rgb, final_alpha = finish(rgb, alpha)
    final_rgb[final_alpha == 0] = 252
    result = score(rgb, alpha, final=(final_rgb, final_alpha))
    assert result.background <= 20
    assert result.decision == "review"
    assert any(r.startswith("background") and "not pure white" in r for r in result.reasons)


def test_a_grey_perimeter_loses_most_background_points() -> None:
    rgb, alpha = photo()
    final_rgb, final_alpha = finish(rgb, alpha)
    final_rgb[final_alpha == 0] = 200
    assert score(rgb, alpha, final=(final_rgb, final_alpha)).background == 0


def test_decision_follows_the_thresholds() -> None:
    rgb, alpha = photo()
    assert score(rgb, alpha, thresholds=QcThresholds(approve=101, review=100)).decision == "review"
    assert score(rgb, alpha, thresholds=QcThresholds(approve=102, review=101)).decision == "reject"


def test_rejects_shape_mismatches() -> None:
    rgb, alpha = photo()
    with pytest.raises(ValueError):
        score_qc(rgb, alpha[:-1], rgb, alpha)


def test_channel_means_are_numpys_float_means_to_the_last_bit() -> None:
    from packshot.imaging.channels import channel_means

    rng = np.random.default_rng(11)
    for count in (1, 7, 1_000_003):
        pixels = rng.integers(0, 256, (count, 3), dtype=np.uint8)
        channels = (pixels[:, 0], pixels[:, 1], pixels[:, 2])
        assert channel_means(channels).tolist() == pixels.astype(np.int16).mean(axis=0).tolist()


def test_a_background_check_passed_in_scores_the_same_as_one_measured_here() -> None:
    from packshot.imaging.finish import verify_background

    original, mask = photo()
    final_rgb, final_alpha = finish(original, mask)
    final_rgb[:10] = 200  # a grey band along the top edge
    check = verify_background(final_rgb, final_alpha)
    assert not check.perimeter_ok
    assert score_qc(original, mask, final_rgb, final_alpha, background_check=check) == score_qc(
        original, mask, final_rgb, final_alpha)


def _specks_in_the_whole_map(solid: np.ndarray) -> int:
    """_count_specks the plain way: both reduced maps of the whole frame labelled."""
    import math

    from packshot.imaging.masks import block_any, component_areas
    from packshot.imaging.qc import _LABEL_SIDE, _SPECK_SHARE

    height, width = solid.shape
    factor = max(1, math.ceil(max(height, width) / _LABEL_SIDE))
    limit = max(1.0, _SPECK_SHARE * height * width / factor**2)
    islands = component_areas(block_any(solid, factor))
    gaps = component_areas(block_any(~solid, factor))
    return int(np.count_nonzero(islands < limit) + np.count_nonzero(gaps < limit))


def test_specks_counted_around_the_product_are_the_specks_of_the_whole_frame() -> None:
    from packshot.imaging.qc import _count_specks

    rng = np.random.default_rng(21)
    maps = []
    for height, width in [(1, 1), (1, 40), (40, 1), (7, 9), (300, 200), (2100, 1300), (1030, 2049)]:
        maps.append(np.zeros((height, width), bool))  # no product
        maps.append(np.ones((height, width), bool))  # all product
        dotted = rng.random((height, width)) < 0.002  # specks only, anywhere, edges too
        maps.append(dotted)
        body = np.zeros((height, width), bool)
        body[height // 4 : 3 * height // 4 + 1, width // 3 : 2 * width // 3 + 1] = True
        body ^= dotted  # pinholes inside, islands outside
        maps.append(body)
        edge = body.copy()
        edge[:, : width // 2] = True  # the product touching the frame on three sides
        maps.append(edge)
        tiny = np.zeros((height, width), bool)
        tiny[height // 2, width // 2] = True  # a one-pixel product
        maps.append(tiny)
        ring = np.zeros((height, width), bool)
        ring[height // 2 - 3 : height // 2 + 4, width // 2 - 3 : width // 2 + 4] = True
        ring[height // 2, width // 2] = False  # a small product with a pinhole
        maps.append(ring)
    for solid in maps:
        assert _count_specks(solid) == _specks_in_the_whole_map(solid), solid.shape


def test_the_solid_pixels_are_those_a_plain_mask_picks_in_the_same_order() -> None:
    from packshot.imaging.qc import _sample, _solid, _solid_pixels

    rng = np.random.default_rng(22)
    for height, width in [(1, 1), (5, 3), (64, 80), (2100, 2001)]:
        rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        for alpha in (np.zeros((height, width), np.uint8), np.full((height, width), 255, np.uint8),
                      rng.choice(np.array([0, 128, 240, 255], np.uint8), (height, width)),
                      np.pad(np.full((1, 1), 255, np.uint8), ((0, height - 1), (width - 1, 0)))):
            sampled_rgb, sampled_alpha = _sample(rgb, alpha)
            expected = sampled_rgb[_solid(sampled_alpha)]
            picked = _solid_pixels(rgb, alpha)
            for channel in range(3):
                np.testing.assert_array_equal(picked[channel], expected[:, channel])


def test_the_edge_part_counted_around_the_product_is_the_whole_frames() -> None:
    from packshot.imaging.qc import _CRISP_BAND, _SOFT_BAND, _UNSURE_HIGH, _UNSURE_LOW, PART, _count_specks, _edge_part

    def plain(alpha: np.ndarray) -> tuple[float, str]:
        solid = alpha >= 128
        unsure = int(np.count_nonzero((alpha > _UNSURE_LOW) & (alpha < _UNSURE_HIGH)))
        outline = int(np.count_nonzero(solid[:, 1:] != solid[:, :-1]) + np.count_nonzero(solid[1:] != solid[:-1]))
        band = unsure / max(1, outline) / max(1.0, max(alpha.shape) / 1000.0)
        band_score = float(np.clip((_SOFT_BAND - band) / (_SOFT_BAND - _CRISP_BAND), 0.0, 1.0))
        return PART * band_score * (1.0 / (1.0 + _count_specks(solid) / 10.0)), ""

    rng = np.random.default_rng(24)
    for height, width in [(1, 1), (2, 9), (9, 2), (50, 70)]:
        for alpha in (np.zeros((height, width), np.uint8), np.full((height, width), 255, np.uint8),
                      rng.integers(0, 256, (height, width), dtype=np.uint8),
                      np.pad(np.full((1, 1), 200, np.uint8), ((height - 1, 0), (0, width - 1))),
                      np.pad(np.full((1, 2), 100, np.uint8), ((0, height - 1), (width - 1, 0)))[:height, :width]):
            assert _edge_part(alpha)[0] == plain(alpha)[0], (height, width)
