"""Score a finished packshot 0..100 and decide whether it ships, needs a person, or is rejected.

The score judges the picture (background, edges, fill, colour). Whether the cutout itself can be trusted is the
auto-approval gate's call (packshot/gate.py), applied by the finish stage on top of this decision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from packshot.imaging.channels import channel_means, masked_channels
from packshot.imaging.finish import BackgroundCheck, bounding_box, fill_ratio, touches_border, verify_background
from packshot.imaging.masks import block_any, component_areas
from packshot.status import Decision


@dataclass(frozen=True)
class QcThresholds:
    """Score cut-offs: >= approve ships, >= review goes to a person, below is rejected."""

    approve: int = 90
    review: int = 70
    # Amazon's main image guidance: the product fills about 85% of the frame on its longest side.
    target_fill: float = 0.85


@dataclass(frozen=True)
class QcResult:
    """Score of one packshot: four parts of 0..25 each, their sum, and the decision."""

    score: int
    background: float
    edge_quality: float
    product_fill: float
    colour: float
    decision: Decision
    reasons: tuple[str, ...]


PART = 25.0
# Alpha between these is neither product nor background: the mask's uncertain band.
_UNSURE_LOW, _UNSURE_HIGH = 25, 230
# Band width (at a 1000 px reference) that still looks crisp, and where it is unusable.
_CRISP_BAND, _SOFT_BAND = 3.0, 12.0
# Under this share of the frame the mask found nothing; over it the mask is the whole photo.
_MIN_COVERAGE, _MAX_COVERAGE = 0.0005, 0.98
# A component smaller than this share of the frame is a speck or pinhole, not part of a product.
_SPECK_SHARE = 0.00005
# Masks are labelled at this resolution: enough to see specks, cheap on 24 MP.
_LABEL_SIDE = 1024
# Product pixel statistics are taken from about this many pixels.
_SAMPLE_PIXELS = 1_000_000


def score_qc(
    original_rgb: np.ndarray,
    cutout_alpha: np.ndarray,
    final_rgb: np.ndarray,
    final_alpha: np.ndarray,
    *,
    thresholds: QcThresholds = QcThresholds(),
    background_check: BackgroundCheck | None = None,
) -> QcResult:
    """Score background, edge quality, product fill and colour (25 each) and decide.

    original_rgb/cutout_alpha are the source and the model's mask at the same size; final_* are the
    square canvas after crop_to_fill and composite_on_white. `background_check` is verify_background's result
    for final_* when the caller has it already (the finish stage records it too); else it is measured here.
    """
    if original_rgb.shape[:2] != cutout_alpha.shape or final_rgb.shape[:2] != final_alpha.shape:
        raise ValueError(
            f"shape mismatch: original {original_rgb.shape} / mask {cutout_alpha.shape},"
            f" final {final_rgb.shape} / alpha {final_alpha.shape}"
        )
    reasons: list[str] = []
    gates: list[str] = []

    check = background_check if background_check is not None else verify_background(final_rgb, final_alpha)
    background, note, compliant = _background_part(check)
    if note:
        reasons.append(f"background {_pts(background)}/25: {note}")
    if not compliant:
        gates.append("the background fails the marketplace white check")

    solid = cutout_alpha >= 128
    coverage = float(np.count_nonzero(solid)) / cutout_alpha.size
    if coverage < _MIN_COVERAGE or coverage > _MAX_COVERAGE:
        what = "empty" if coverage < _MIN_COVERAGE else f"covers {coverage:.0%} of the frame"
        edge_quality, product_fill = 0.0, 0.0
        reasons.append(f"edge quality 0/25: the mask is {what}, so no product was separated")
        reasons.append("product fill 0/25: no product outline to place")
    else:
        edge_quality, note = _edge_part(cutout_alpha, solid)
        if note:
            reasons.append(f"edge quality {_pts(edge_quality)}/25: {note}")
        product_fill, note = _fill_part(cutout_alpha, final_alpha, thresholds.target_fill)
        if note:
            reasons.append(f"product fill {_pts(product_fill)}/25: {note}")
        if touches_border(cutout_alpha):
            gates.append("the product touches the edge of the photo, so it may be cut off")

    colour, note = _colour_part(original_rgb, cutout_alpha, final_rgb, final_alpha)
    if note:
        reasons.append(f"colour {_pts(colour)}/25: {note}")

    score = int(round(background + edge_quality + product_fill + colour))
    if score >= thresholds.approve:
        decision = Decision.APPROVE
        if gates:
            # These failures are cheap for a person to judge and costly to ship unseen, so they
            # hold an otherwise good score back from automatic approval.
            decision = Decision.REVIEW
            reasons.append("needs a person: " + "; ".join(gates))
    elif score >= thresholds.review:
        decision = Decision.REVIEW
    else:
        decision = Decision.REJECT
    return QcResult(
        score=score,
        background=round(background, 2),
        edge_quality=round(edge_quality, 2),
        product_fill=round(product_fill, 2),
        colour=round(colour, 2),
        decision=decision,
        reasons=tuple(reasons),
    )


def _pts(part: float) -> int:
    return int(round(part))


def _background_part(check: BackgroundCheck) -> tuple[float, str, bool]:
    if check.perimeter_ok and check.all_white:
        return PART, "", True
    perimeter = check.perimeter_passed / check.perimeter_samples
    white = 1.0 - check.non_white_background_pixels / max(1, check.background_pixels)
    score = PART * (0.5 * perimeter + 0.5 * white)
    # Not compliant is never full marks, however few pixels are off.
    score = min(score, PART - 5.0)
    problems = []
    if not check.perimeter_ok:
        problems.append(f"{check.perimeter_passed}/{check.perimeter_samples} edge samples are white")
    if not check.all_white:
        problems.append(f"{check.non_white_background_pixels} background pixels are not pure white")
    return score, "; ".join(problems), False


def edge_quality(alpha: np.ndarray) -> float:
    """The edge part of the score (0..25) for a cutout alpha: a crisp outline and no specks score 25."""
    return _edge_part(alpha)[0]


def _edge_part(alpha: np.ndarray, solid: np.ndarray | None = None) -> tuple[float, str]:
    """The edge part and its note; solid is alpha >= 128 when the caller has it already."""
    if solid is None:
        solid = alpha >= 128
    # Uncertain and outline pixels lie in the box of alpha > 0 and one pixel around it (outside, alpha is 0):
    # counted there, the same numbers from a fraction of the frame.
    seen = bounding_box(alpha, threshold=1)
    near = (slice(max(0, seen[1] - 1), seen[3] + 1), slice(max(0, seen[0] - 1), seen[2] + 1)) if seen else (
        slice(0, 0), slice(0, 0))
    unsure = int(np.count_nonzero((alpha[near] > _UNSURE_LOW) & (alpha[near] < _UNSURE_HIGH)))
    box = solid[near]
    outline = int(np.count_nonzero(box[:, 1:] != box[:, :-1]) + np.count_nonzero(box[1:] != box[:-1]))
    # A model mask upscaled to 24 MP is softer in pixels than the same mask at 1 MP but looks the
    # same on a marketplace page: measure the band at a 1000 px reference.
    scale = max(1.0, max(alpha.shape) / 1000.0)
    band = unsure / max(1, outline) / scale
    band_score = float(np.clip((_SOFT_BAND - band) / (_SOFT_BAND - _CRISP_BAND), 0.0, 1.0))
    specks = _count_specks(solid)
    # Ten specks halve the score: each one is a visible dot on a white page.
    speck_score = 1.0 / (1.0 + specks / 10.0)
    score = PART * band_score * speck_score
    problems = []
    if band_score < 1.0:
        problems.append(f"soft or ragged mask edge (uncertain band {band:.1f} px)")
    if specks:
        problems.append(f"{specks} stray specks or pinholes in the mask")
    return score, ("; ".join(problems) if _pts(score) < PART else "")


def _fill_part(cutout_alpha: np.ndarray, final_alpha: np.ndarray, target: float) -> tuple[float, str]:
    if touches_border(cutout_alpha):
        return 0.0, "the product touches the edge of the original photo, so it is probably cut off"
    fill = fill_ratio(final_alpha)
    # Within 2 points of the target is what crop_to_fill's rounding gives; 25 points off scores 0.
    miss = abs(fill - target)
    score = PART * float(np.clip(1.0 - max(0.0, miss - 0.02) / 0.23, 0.0, 1.0))
    if _pts(score) < PART:
        return score, f"product fills {fill:.0%} of the frame, target {target:.0%}"
    return score, ""


def _colour_part(
    original_rgb: np.ndarray, cutout_alpha: np.ndarray, final_rgb: np.ndarray, final_alpha: np.ndarray
) -> tuple[float, str]:
    """Colour fidelity: clipped highlights or shadows, and a shift from the original.

    How close the product is to the backdrop's colour (white on white) is not a fault of the picture but a risk
    for the cutout: the gate weighs it (packshot/gate.py, near_backdrop).
    """
    orig_product = _solid_pixels(original_rgb, cutout_alpha)
    fin_product = _solid_pixels(final_rgb, final_alpha)
    if len(orig_product[0]) == 0 or len(fin_product[0]) == 0:
        return 0.0, "no solid product pixels to compare"

    # Blown highlights (all channels 255) and crushed shadows (all 0) are detail lost for good;
    # a saturated colour such as (255, 0, 0) is not.
    red, green, blue = fin_product
    lowest, highest = np.minimum(np.minimum(red, green), blue), np.maximum(np.maximum(red, green), blue)
    clipped = np.count_nonzero((lowest >= 255) | (highest <= 0)) / len(red)
    clip_score = 1.0 - float(np.clip((clipped - 0.02) / 0.18, 0.0, 1.0))
    shift = float(np.abs(channel_means(fin_product) - channel_means(orig_product)).max())
    # Finishing copies product pixels: a mean shift over 2 levels means something recoloured them.
    shift_score = 1.0 - float(np.clip((shift - 2.0) / 18.0, 0.0, 1.0))

    score = PART * clip_score * shift_score

    problems = []
    if clip_score < 1.0:
        problems.append(f"{clipped:.0%} of product pixels are clipped to pure white or black")
    if shift_score < 1.0:
        problems.append(f"product colour shifted by {shift:.1f} levels from the original")
    return score, ("; ".join(problems) if _pts(score) < PART else "")


def _sample(rgb: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    stride = max(1, math.isqrt(alpha.size // _SAMPLE_PIXELS))
    return rgb[::stride, ::stride], alpha[::stride, ::stride]


def _solid_pixels(rgb: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The product pixels QC compares, the sampled pixels where the product is solid: red, green and blue (N,)
    uint8 each."""
    rgb, alpha = _sample(rgb, alpha)
    solid = _solid(alpha)
    rows, cols = np.flatnonzero(solid.any(axis=1)), np.flatnonzero(solid.any(axis=0))
    if len(rows):  # the product's box only: the same pixels in the same order, a smaller mask to scan
        box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        rgb, solid = rgb[box], solid[box]
    return masked_channels(rgb, solid)


def _solid(alpha: np.ndarray) -> np.ndarray:
    solid = alpha == 255
    # A model that never outputs exactly 255 still has a confident interior.
    return solid if np.count_nonzero(solid) >= 64 else alpha >= _UNSURE_HIGH


def _count_specks(solid: np.ndarray) -> int:
    """Small islands of product plus small holes of background, counted on a reduced mask."""
    height, width = solid.shape
    factor = max(1, math.ceil(max(height, width) / _LABEL_SIDE))
    limit = max(1.0, _SPECK_SHARE * height * width / factor**2)
    rows, cols = np.flatnonzero(solid.any(axis=1)), np.flatnonzero(solid.any(axis=0))
    if len(rows):
        # Only the product's tiles and a margin of `limit` tiles around them are labelled (whole tiles, so the
        # reduced map is a crop of the whole one). Every speck lies in the product's tiles; outside them all is
        # background, so a hole there belongs to the outer background, which reaches the margin. The margin
        # (or the frame's edge, whose side is over `limit` tiles too) keeps that component at `limit` or more,
        # so it is never counted, as in the whole map; every other component is the same one as there.
        tiles_high, tiles_wide, margin = -(-height // factor), -(-width // factor), math.ceil(limit)
        top, bottom = max(0, rows[0] // factor - margin), min(tiles_high, rows[-1] // factor + 1 + margin)
        left, right = max(0, cols[0] // factor - margin), min(tiles_wide, cols[-1] // factor + 1 + margin)
        solid = solid[top * factor : bottom * factor, left * factor : right * factor]
    product = block_any(solid, factor)
    holes = block_any(~solid, factor)
    islands = component_areas(product)
    gaps = component_areas(holes)
    return int(np.count_nonzero(islands < limit) + np.count_nonzero(gaps < limit))
