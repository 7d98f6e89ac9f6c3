"""Cut the product out of a studio photo: model mask, full-resolution refinement, and a confidence score."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from packshot.imaging.channels import channel_max
from packshot.imaging.masks import (
    backdrop_grid,
    bounding_box,
    box_count,
    box_mean,
    erode3,
    label_components,
    quadratic_basis,
)
from packshot.models.base import ModelOutput, SegmentationModel

logger = logging.getLogger(__name__)

# Edge: after upscaling, the model's 2-3 px soft edge is 10-20 px wide at full size; this many full-size
# pixels is what a sharp lens gives, so the edge is crisp without a staircase.
EDGE_WIDTH_PX = 2.5
# Refinement: the guided filter's coefficients are fitted on a working copy at most this long (the model
# sees 224, so a little more places them finely enough; the full-resolution photo decides each edge pixel).
# The model's input is made from the same copy, and it must not be much under 1.5x the model's size: on
# `make eval` 384 gives IoU 0.8982 / boundary F 0.9510 against 0.8922 / 0.9482 at 320 (whose copies of
# 1000-1100 px photos are only 250-275 px) and 0.8983 / 0.9500 at 512, which costs more time.
WORK_SIDE = 384
# Mask levels (of 255) under which, or over 255 minus which, a pixel is sure: only the pixels between are
# decided one by one at full size. 4 against 1: the same scores on `make eval`, half the edge pixels.
BAND_LOW = 4
# Tinted surfaces (see claim_tinted): 40 levels from the backdrop and a hue of their own. On the book example
# the page edge goes from 15 specks to 1; `make eval` unchanged (IoU -0.0001, boundary F equal).
TINT_DISTANCE = 40.0 / 255.0
TINT_CHROMA = 0.03
GUIDE_RADIUS = 3  # 7x7 window on the 384 px working copy: about four of the model's 224 px
# Guide variance (distance units, 1 = 255 levels) below which the filter trusts the model over the photo.
GUIDE_EPS = 0.03**2
# A light contrast curve on the guided alpha: it follows the photo already and needs only a little help.
GUIDED_GAIN = 1.5
# Islands: a separate blob smaller than this share of the main subject's mass, and this far (as a share of
# the model's input side) from the subject's box, is a speck of dust or a reflection, not a second item.
ISLAND_MAX_SHARE = 0.03
ISLAND_MIN_GAP = 0.04
# Holes: a pixel is cleared only when its colour is within this many levels (after a small blur that
# removes sensor noise) of the fitted backdrop at its place, it sits in an open patch of such pixels, and
# the model was not sure of it. White-on-white products are what these three conditions protect.
# On `make eval` (against the border colour, 10 levels and 0.85): boundary F 0.9483 vs 0.9460, IoU 0.8972
# vs 0.8914; u2netp at 224 px fills big holes (rings, bag straps, mug handles) at 0.85-0.95. 6 levels
# would gain 0.0006 more but leaves backdrop texture of an empty frame standing as a "product".
HOLE_COLOUR_TOLERANCE = 8.0
HOLE_PATCH_RADIUS = 4
HOLE_MAX_MODEL_ALPHA = 0.95
# Enclosed regions the model left out are product unless more than this share of them looks like backdrop.
ENCLOSED_MAX_BACKDROP = 0.2
ENCLOSED_MIN_DISTANCE = 40.0 / 255.0
# Colour: a pixel whose chroma differs from the backdrop's by more than this (1 = 255 levels) is product
# wherever the model gave it more than COLOURED_MIN_MODEL. A shadow is the backdrop darker, the same chroma,
# so it is never claimed. On `make eval` this lifts boundary F by 0.003 (small, soft-edged products whose
# middle u2netp leaves at 0.3-0.5) without moving IoU.
COLOURED_CHROMA = 0.08
COLOURED_MIN_MODEL = 0.05


@dataclass(frozen=True)
class Cutout:
    """The product's alpha at the photo's resolution and how much to trust it."""

    alpha: np.ndarray  # (H, W) uint8 at full input resolution
    confidence: float  # 0..1; under 0.5 means "no clear subject", send to review
    model: str
    # The photo with backdrop colour removed from semi-transparent edge pixels (no white or grey fringe
    # when composited on another colour); None means "use the photo as it is".
    foreground: np.ndarray | None = None
    signals: Signals | None = None


@dataclass(frozen=True)
class Signals:
    """The measurements confidence is made of; kept so a reviewer can see why a score is low."""

    raw_range: float  # model output max - min before normalisation
    band_width: float  # mean width of the uncertain band (0.1 < mask < 0.9) in model pixels
    colour_agreement: float  # IoU of mask > 0.5 and "differs from the backdrop colour", at model size
    area: float  # share of the frame with mask > 0.5
    edge_support: float = 1.0  # share of the outline the photo's contrast confirms (see edge_support)


def cut_out(rgb: np.ndarray, model: SegmentationModel) -> Cutout:
    """Segment the product in an RGB uint8 photo and return its full-resolution alpha with a confidence.

    The expensive work is bounded: the model runs at its input size; the guided filter's coefficients and
    the backdrop model are computed at WORK_SIDE; the full-resolution image is read only in the edge band.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 array (H, W, 3), got {rgb.dtype} {rgb.shape}")
    height, width = rgb.shape[:2]
    side = max(height, width)
    factor = max(1, -(-side // WORK_SIDE))  # ceil: the working copy is at most WORK_SIDE
    # One pass over the full-resolution photo makes the working copy; the model (when its family allows)
    # and the confidence measures start from it, so the 4 MP array is converted and reduced only once.
    small_rgb = np.asarray(Image.fromarray(rgb).reduce(factor)) if factor > 1 else rgb
    output = model.predict(small_rgb if model.fast_resize else rgb)
    mask = remove_islands(output.mask)
    small_h, small_w = small_rgb.shape[:2]
    soft_small = upscale_mask(mask, small_w, small_h)
    backdrop = fit_backdrop(small_rgb, soft_small < 0.02)
    behind_small = backdrop_image(backdrop, small_w, small_h)
    distance_small = backdrop_distance(small_rgb, behind_small)
    soft_small = clear_background_holes(small_rgb, soft_small, soft_small, behind_small)
    soft_small = claim_coloured(small_rgb, soft_small, behind_small)
    soft_small = fill_enclosed_product(soft_small, distance_small)
    soft_small = claim_tinted(small_rgb, soft_small, distance_small, behind_small)
    alpha, band = refine_alpha(
        rgb, soft_small, distance_small, backdrop, scale=side / mask.shape[0], behind_small=behind_small
    )
    foreground = decontaminate(rgb, alpha, band, backdrop)
    signals = measure(small_rgb, output, mask, edge_support(band))
    return Cutout(
        alpha=alpha,
        confidence=confidence(signals),
        model=model.name,
        foreground=foreground,
        signals=signals,
    )


def chroma_distance(pixels: np.ndarray, behind: np.ndarray) -> np.ndarray:
    """How far each pixel's colour is from the backdrop's once brightness is set aside, in 0..1.

    The part of (pixel - backdrop) across the backdrop's colour direction: a shadow or a grey product on a
    white sweep scores 0 (it is the backdrop, darker), a coloured product scores its colour difference.
    """
    diff = pixels.astype(np.float32) - behind
    unit = behind / np.maximum(np.sqrt(np.einsum("...k,...k->...", behind, behind)), 1e-3)[..., None]
    along = np.einsum("...k,...k->...", diff, unit)
    across = diff - along[..., None] * unit
    return np.sqrt(np.einsum("...k,...k->...", across, across)) / np.float32(255.0)


def claim_coloured(rgb: np.ndarray, soft: np.ndarray, behind: np.ndarray) -> np.ndarray:
    """Set to 1 the pixels the model half-saw whose chroma the backdrop cannot have (see COLOURED_CHROMA).

    u2netp at 224 px leaves the middle of small soft-edged products at 0.3-0.5; where the photo's colour
    flat-out says "not backdrop" the guided filter has no contrast to follow and would drop them.
    """
    return _claim_by_chroma(rgb, soft, behind, soft > COLOURED_MIN_MODEL, COLOURED_CHROMA)


def claim_tinted(rgb: np.ndarray, soft: np.ndarray, distance: np.ndarray, behind: np.ndarray) -> np.ndarray:
    """Set to 1 the pixels well inside what the model more than half saw that are clearly tinted, not backdrop.

    u2netp leaves a cream page edge or a beige panel beside a strong colour at 0.6-0.7, and the guided filter
    then draws the surface's texture into the alpha as stripes. A pixel whose whole 3x3 neighbourhood the model
    puts at 0.5 or more (so not an edge mixture), TINT_DISTANCE from the backdrop and TINT_CHROMA away from its
    hue (so never a shadow, which is the backdrop darker) is product.
    """
    inside = erode3(soft >= 0.5) & (soft < 1.0) & (distance >= TINT_DISTANCE)
    return _claim_by_chroma(rgb, soft, behind, inside, TINT_CHROMA)


def _claim_by_chroma(
    rgb: np.ndarray, soft: np.ndarray, behind: np.ndarray, candidates: np.ndarray, min_chroma: float
) -> np.ndarray:
    """`soft` with the candidate pixels whose chroma distance from the backdrop exceeds min_chroma set to 1."""
    idx = np.flatnonzero(candidates)  # only these can be claimed: measure only them
    claim = idx[chroma_distance(rgb.reshape(-1, 3)[idx], behind.reshape(-1, 3)[idx]) > min_chroma]
    if len(claim) == 0:
        return soft
    out = soft.astype(np.float32)  # a copy: the caller's map is not changed
    out.reshape(-1)[claim] = 1.0
    return out


def fill_enclosed_product(soft: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """Set to 1 the regions the model left out that the product surrounds and that do not look like backdrop.

    A hole shows the backdrop; a region inside the product's outline that is clearly not the backdrop (a grey
    panel on a shoe, a print) is product the model missed. A region is filled when it does not touch the
    frame's edge and at most ENCLOSED_MAX_BACKDROP of it is within HOLE_COLOUR_TOLERANCE of the backdrop.
    """
    outside = soft < 0.5
    labels, count = label_components(outside)
    if count <= 1:
        return soft
    edge = np.zeros(count + 1, bool)
    edge[np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])] = True
    flat = labels.ravel()
    size = np.bincount(flat, minlength=count + 1)
    like = np.bincount(flat, weights=(distance * 255.0 <= HOLE_COLOUR_TOLERANCE).ravel(), minlength=count + 1)
    mean_distance = np.bincount(flat, weights=distance.ravel(), minlength=count + 1) / np.maximum(size, 1)
    fill = ~edge & (like <= ENCLOSED_MAX_BACKDROP * size) & (mean_distance >= ENCLOSED_MIN_DISTANCE)
    fill[0] = False
    if not fill.any():
        return soft
    return np.where(fill[labels], np.float32(1.0), soft).astype(np.float32)


def edge_support(band: Band) -> float:
    """Share of the outline the photo itself confirms (0..1): low for white on white, glass, soft shadows.

    Over the pixels that ended up partly transparent, the mean guide strength: where product and backdrop
    differ, the edge follows the photo; where they do not, the edge is only the model's guess.
    """
    edge = (band.alpha > 0.1) & (band.alpha < 0.9)
    if not edge.any():
        return 1.0
    return float(band.support[edge].mean())


# -- refinement -------------------------------------------------------------------------------------------


def refine_alpha(
    rgb: np.ndarray,
    soft_small: np.ndarray,
    distance_small: np.ndarray,
    backdrop: np.ndarray,
    *,
    scale: float,
    behind_small: np.ndarray | None = None,
) -> tuple[np.ndarray, Band]:
    """Full-resolution alpha: a fast guided filter (He and Sun) on the colour distance from the backdrop.

    The filter's linear coefficients (alpha ~ a * distance + b per window) are fitted at WORK_SIDE, then
    applied to the full-resolution distance, but only in the band where the upscaled mask is unsure; the
    rest of the frame is 0 or 255 without reading the photo. Where the photo gives the filter nothing to
    follow (white on white: the distance is flat), it falls back to the model's edge made crisp.
    """
    height, width = rgb.shape[:2]
    r = GUIDE_RADIUS
    guide, target = distance_small, soft_small
    # The maps go through box_mean stacked: one padding and one pair of cumulative sums per stage.
    mean_i, mean_p, mean_ii, mean_ip = box_mean(np.stack([guide, target, guide * guide, guide * target]), r)
    var_i = mean_ii - mean_i * mean_i
    cov_ip = mean_ip - mean_i * mean_p
    a = cov_ip / (var_i + GUIDE_EPS)
    b = mean_p - a * mean_i
    # How much the photo itself says where the edge is: the guide's local contrast against eps.
    a, b, strength = box_mean(np.stack([a, b, np.clip(var_i / (4.0 * GUIDE_EPS), 0.0, 1.0)]), r)

    small_h, small_w = soft_small.shape
    # The per-pixel fields are sampled together: one set of bilinear taps and four gathers instead of
    # three, and the backdrop colour comes from its own map at working size (a quadratic is smooth enough
    # that bilinear interpolation of it is exact to a fraction of a level).
    fields = np.empty((small_h, small_w, 6), np.float32)
    fields[..., 0], fields[..., 1], fields[..., 2] = a, b, strength
    fields[..., 3:] = backdrop_image(backdrop, small_w, small_h) if behind_small is None else behind_small

    # Only the full-size pixels whose four bilinear taps of the working mask are not all sure (all under
    # BAND_LOW or all over 255 - BAND_LOW levels) can end up between 0 and 255. Everything else is decided
    # at working size and stretched by whole-row copies, so no full-frame float map is ever made.
    rows = _owners(height, small_h)
    cols = _owners(width, small_w)
    sure_in = erode3(soft_small > 1.0 - BAND_LOW / 255.0)
    sure_out = erode3(soft_small < BAND_LOW / 255.0)
    unsure = ~(sure_in | sure_out)
    alpha = _stretch(sure_in.view(np.uint8) * np.uint8(255), rows, cols)
    ys, xs = _stretched_pixels(unsure, rows, cols)
    if len(ys) == 0:
        empty = np.zeros(0, np.float32)
        return alpha, Band(ys, xs, empty, empty)
    candidates = ys * width + xs
    taps = _Taps.at(ys, xs, (height, width), (small_h, small_w))
    soft = taps.sample(soft_small.reshape(-1))
    inside = soft >= 0.5
    alpha.reshape(-1)[candidates] = inside.view(np.uint8) * np.uint8(255)
    keep = np.flatnonzero((soft >= BAND_LOW / 255.0) & (soft <= 1.0 - BAND_LOW / 255.0))
    if len(keep) == 0:
        empty = np.zeros(0, np.float32)
        return alpha, Band(keep, keep, empty, empty)
    flat, ys, xs = candidates[keep], ys[keep], xs[keep]
    sampled = taps.subset(keep).sample(fields.reshape(-1, 6))
    coeff_a, coeff_b, coeff_s, behind = sampled[:, 0], sampled[:, 1], sampled[:, 2], sampled[:, 3:]
    diff = rgb.reshape(-1, 3)[flat].astype(np.float32) - behind
    distance = np.minimum(np.sqrt(np.einsum("ij,ij->i", diff, diff)) * np.float32(1.0 / 255.0), 1.0)
    guided = coeff_a * distance + coeff_b
    # The guided result is already as sharp as the photo; the model-only fallback needs the contrast curve.
    gain = coeff_s * GUIDED_GAIN + (1.0 - coeff_s) * np.float32(max(1.0, 2.0 * scale / EDGE_WIDTH_PX))
    t = np.clip((guided - 0.5) * gain + 0.5, 0.0, 1.0)
    values = (t * t * (3.0 - 2.0 * t)).astype(np.float32)
    alpha.reshape(-1)[flat] = np.round(values * 255.0).astype(np.uint8)
    return alpha, Band(ys, xs, values, coeff_s, behind)


def _owners(size_out: int, size_in: int) -> np.ndarray:
    """For each input pixel, how many output pixels have their centre in it (nearest-neighbour stretch)."""
    owner = ((np.arange(size_out) + 0.5) * (size_in / size_out)).astype(np.int64)
    return np.bincount(np.minimum(owner, size_in - 1), minlength=size_in)


def _stretch(small: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Nearest-neighbour enlargement by per-row and per-column repeat counts (from _owners); a writable copy."""
    return np.repeat(np.repeat(small, cols, axis=1), rows, axis=0)


def _stretched_pixels(small: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Full-size (ys, xs) of the pixels a True working-size pixel covers in _stretch(small, rows, cols).

    Listed from the working size, not found by scanning the full frame: a product's outline covers a few
    percent of a 4 MP photo, and a full-frame mask and nonzero would cost more than everything done with it.
    """
    small_rows, xs = np.nonzero(np.repeat(small, cols, axis=1))  # (working row, full-size column) pairs
    first_row = np.cumsum(rows) - rows
    counts = rows[small_rows]
    starts = np.cumsum(counts) - counts
    step = np.arange(int(counts.sum())) - np.repeat(starts, counts)  # 0..rows-1 within each pair
    return np.repeat(first_row[small_rows], counts) + step, np.repeat(xs, counts)


@dataclass(frozen=True)
class _Taps:
    """Bilinear taps of full-size pixels (ys, xs) into a working-size map: four flat indices, two weights."""

    top_left: np.ndarray
    top_right: np.ndarray
    bottom_left: np.ndarray
    bottom_right: np.ndarray
    fx: np.ndarray
    fy: np.ndarray

    @classmethod
    def at(cls, ys: np.ndarray, xs: np.ndarray, full: tuple[int, int], small: tuple[int, int]) -> _Taps:
        row0, row1, row_f = _taps(full[0], small[0])
        col0, col1, col_f = _taps(full[1], small[1])
        y0, y1 = row0[ys] * small[1], row1[ys] * small[1]
        x0, x1 = col0[xs], col1[xs]
        return cls(y0 + x0, y0 + x1, y1 + x0, y1 + x1, col_f[xs][:, None], row_f[ys][:, None])

    def subset(self, keep: np.ndarray) -> _Taps:
        return _Taps(
            self.top_left[keep], self.top_right[keep], self.bottom_left[keep], self.bottom_right[keep],
            self.fx[keep], self.fy[keep],
        )

    def sample(self, flat: np.ndarray) -> np.ndarray:
        """(N,) or (N, C) samples of a (h * w,) or (h * w, C) map.

        np.take rather than flat[index]: for rows of a 2-D array it is two to three times faster.
        """
        fx, fy = (self.fx[:, 0], self.fy[:, 0]) if flat.ndim == 1 else (self.fx, self.fy)
        top = np.take(flat, self.top_left, axis=0)
        top += (np.take(flat, self.top_right, axis=0) - top) * fx
        bottom = np.take(flat, self.bottom_left, axis=0)
        bottom += (np.take(flat, self.bottom_right, axis=0) - bottom) * fx
        top += (bottom - top) * fy
        return top


def _taps(size_out: int, size_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per output pixel: the two input samples either side of its centre and the weight of the second."""
    pos = np.clip((np.arange(size_out) + 0.5) * (size_in / size_out) - 0.5, 0.0, size_in - 1.0)
    first = np.minimum(pos.astype(np.int64), max(size_in - 2, 0))
    second = np.minimum(first + 1, size_in - 1)
    return first, second, (pos - first).astype(np.float32)


@dataclass(frozen=True)
class Band:
    """The full-resolution pixels refine_alpha decided individually, and their alpha in 0..1."""

    ys: np.ndarray
    xs: np.ndarray
    alpha: np.ndarray
    support: np.ndarray  # 0..1 per pixel: how much the photo's own contrast decided it (vs the model)
    behind: np.ndarray | None = None  # (N, 3) the fitted backdrop's colour at each pixel, when known


def decontaminate(rgb: np.ndarray, alpha: np.ndarray, band: Band, backdrop: np.ndarray) -> np.ndarray | None:
    """The photo with the backdrop's colour taken out of partly transparent edge pixels.

    An edge pixel is alpha * product + (1 - alpha) * backdrop; solving for the product colour removes the
    grey or white fringe a grey or off-white backdrop leaves when the cutout is put on pure white.
    """
    partial = (band.alpha > 0.05) & (band.alpha < 0.95)
    if not partial.any():
        return None
    ys, xs, a = band.ys[partial], band.xs[partial], band.alpha[partial][:, None]
    height, width = rgb.shape[:2]
    if band.behind is not None:
        behind = band.behind[partial]
    else:
        behind = backdrop_colour(backdrop, (xs + 0.5) / width, (ys + 0.5) / height)
    pixels = rgb[ys, xs].astype(np.float32)
    product = behind + (pixels - behind) / a
    out = rgb.copy()
    out[ys, xs] = np.clip(np.round(product), 0, 255).astype(np.uint8)
    return out


def fit_backdrop(rgb_small: np.ndarray, sure_background: np.ndarray) -> np.ndarray:
    """Quadratic-in-(x, y) colour per channel fitted to the sure-background pixels: (6, 3) coefficients.

    A studio sweep is a smooth gradient (brighter in the middle, darker at the top); one flat colour would
    call its dark corners "product". Falls back to the border colour when too little background is sure.
    """
    height, width = sure_background.shape
    ys, xs = np.nonzero(sure_background)
    coeffs = np.zeros((6, 3), np.float32)
    if len(ys) < 200:
        coeffs[0] = border_colour(rgb_small)
        return coeffs
    step = max(1, len(ys) // 5000)  # six coefficients: 5000 points fit them to a fraction of a level
    ys, xs = ys[::step], xs[::step]
    basis = quadratic_basis((xs + 0.5) / width, (ys + 0.5) / height)
    # Normal equations in float64: six unknowns on [0, 1] coordinates are well conditioned, and a 6x6 solve
    # does not wake the BLAS thread pool the way lstsq's SVD does (8 ms instead of 0.1 on a busy host).
    basis64 = basis.astype(np.float64)
    colours = rgb_small[ys, xs].astype(np.float64)
    try:
        fitted = np.linalg.solve(basis64.T @ basis64, basis64.T @ colours)
    except np.linalg.LinAlgError:  # the sure pixels lie on one line (a single row or column): rank-deficient
        fitted, *_ = np.linalg.lstsq(basis64, colours, rcond=None)
    return fitted.astype(np.float32)


def backdrop_colour(coeffs: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The fitted backdrop's RGB at normalised positions (u across, v down, both 0..1)."""
    return quadratic_basis(u, v) @ coeffs


def backdrop_image(coeffs: np.ndarray, width: int, height: int) -> np.ndarray:
    """The fitted backdrop as a (height, width, 3) float32 image, sampled at pixel centres."""
    return backdrop_grid(coeffs, (np.arange(width) + 0.5) / width, (np.arange(height) + 0.5) / height)


def backdrop_distance(pixels: np.ndarray, behind: np.ndarray) -> np.ndarray:
    """Euclidean RGB distance of each pixel from the backdrop behind it (same shape, float32), in 0..1 (1 = 255)."""
    diff = pixels.astype(np.float32) - behind
    return np.minimum(np.sqrt(np.einsum("...k,...k->...", diff, diff)) / 255.0, 1.0).astype(np.float32)


def upscale_mask(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    """Float mask to (height, width), bilinear: smooth, and never overshoots like Lanczos does."""
    image = Image.fromarray(mask.astype(np.float32), mode="F")
    return np.clip(np.asarray(image.resize((width, height), Image.Resampling.BILINEAR)), 0.0, 1.0)


def remove_islands(mask: np.ndarray) -> np.ndarray:
    """Zero small blobs far from the main subject (dust, reflections); keeps every sizeable blob."""
    support = mask > 0.1
    labels, count = label_components(support)
    if count <= 1:
        return mask
    mass = np.bincount(labels.ravel(), weights=mask.ravel(), minlength=count + 1)
    mass[0] = 0.0
    main = int(np.argmax(mass))
    main_box = bounding_box(labels == main)
    gap_min = ISLAND_MIN_GAP * max(mask.shape)
    keep = np.ones(count + 1, dtype=bool)
    keep[0] = True
    for index in range(1, count + 1):
        if index == main or mass[index] >= ISLAND_MAX_SHARE * mass[main]:
            continue
        if _box_gap(bounding_box(labels == index), main_box) > gap_min:
            keep[index] = False
    if keep.all():
        return mask
    return np.where(keep[labels], mask, 0.0).astype(np.float32)


def border_colour(rgb: np.ndarray) -> np.ndarray:
    """The backdrop's colour: per-channel median of a strip 2% wide along the image border."""
    height, width = rgb.shape[:2]
    strip = max(2, round(0.02 * min(height, width)))
    border = np.concatenate(
        [
            rgb[:strip].reshape(-1, 3),
            rgb[-strip:].reshape(-1, 3),
            rgb[:, :strip].reshape(-1, 3),
            rgb[:, -strip:].reshape(-1, 3),
        ]
    )
    return np.median(border, axis=0).astype(np.float32)


def clear_background_holes(
    rgb: np.ndarray, alpha: np.ndarray, soft: np.ndarray, background: np.ndarray
) -> np.ndarray:
    """Make backdrop seen through the product (a mug handle, a ring) transparent; conservative on purpose.

    A pixel is cleared when all three hold: its blurred colour is within HOLE_COLOUR_TOLERANCE of the
    backdrop; it lies in an open patch of such pixels (a morphological opening removes thin specular lines
    and white print); and the model gave it under HOLE_MAX_MODEL_ALPHA.
    """
    candidates = (soft < HOLE_MAX_MODEL_ALPHA) & (alpha > 0.0)
    if not candidates.any():
        return alpha
    # Work only on the box around the candidates (plus the patch radius): holes are inside the product,
    # and a full 4000x3000 frame would cost seconds.
    radius = HOLE_PATCH_RADIUS
    rows = np.flatnonzero(candidates.any(axis=1))
    cols = np.flatnonzero(candidates.any(axis=0))
    top, bottom = max(0, rows[0] - 2 * radius), min(rgb.shape[0], rows[-1] + 2 * radius + 1)
    left, right = max(0, cols[0] - 2 * radius), min(rgb.shape[1], cols[-1] + 2 * radius + 1)
    crop = rgb[top:bottom, left:right].astype(np.int16)
    # The backdrop is one colour or, better, the fitted sweep per pixel: a hole in the middle of a graded
    # backdrop can be 10 levels off the border's median and still exactly the backdrop at its place.
    behind = background[top:bottom, left:right] if background.ndim == 3 else background
    # Distance first, then blur the one-channel map: a third of the work of blurring RGB, and the blur
    # still averages sensor noise away (mean |noise| is ~1 level, far under the tolerance).
    diff = np.abs(crop - np.round(behind).astype(np.int16))
    distance = channel_max(diff)
    like_backdrop = box_count(distance, 1) <= HOLE_COLOUR_TOLERANCE * 9
    window = (2 * radius + 1) ** 2
    core = box_count(like_backdrop, radius) == window  # erosion: the whole window is backdrop
    opened = box_count(core, radius) > 0  # dilation back to the patch's size
    clear = np.zeros(alpha.shape, dtype=bool)
    clear[top:bottom, left:right] = opened & like_backdrop
    clear &= candidates
    if not clear.any():
        return alpha
    return np.where(clear, 0.0, alpha).astype(np.float32)


# -- confidence -------------------------------------------------------------------------------------------


def measure(rgb: np.ndarray, output: ModelOutput, mask: np.ndarray, support: float = 1.0) -> Signals:
    """The four confidence signals, all at the model's input size (cheap, and resolution-independent)."""
    side = mask.shape[0]
    small = np.asarray(Image.fromarray(rgb).resize((side, side), Image.Resampling.BOX), dtype=np.float32)
    inside = mask > 0.5
    area = float(inside.mean())
    # Band width = uncertain pixels per pixel of outline. Per outline, not per area: a thin chain is all
    # edge and would look "unsure" by area although each of its edges is as crisp as a box's.
    uncertain = float(((mask > 0.1) & (mask < 0.9)).sum())
    band_width = uncertain / max(outline_length(inside), 1)
    # A simple background model: anything clearly unlike the border colour is "something".
    distinct = channel_max(np.abs(small - border_colour(small.astype(np.uint8)))) > 24.0
    union = int((inside | distinct).sum())
    agreement = float((inside & distinct).sum()) / union if union else 0.0
    return Signals(
        raw_range=output.raw_range,
        band_width=band_width,
        colour_agreement=agreement,
        area=area,
        edge_support=support,
    )


def outline_length(inside: np.ndarray) -> int:
    """Pixels of `inside` with a 4-neighbour outside it (the image border counts as outside)."""
    padded = np.pad(inside, 1, constant_values=False)
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return int((inside & ~interior).sum())


def confidence(signals: Signals) -> float:
    """Confidence in [0, 1] = range * area * (0.5 * edge + 0.5 * agreement), each term in [0, 1].

    range: raw_range 0.3 -> 0, 0.7 and above -> 1 (a real subject drives u2netp's output close to 0..1;
        noise or an empty frame leaves a narrow range that min-max would otherwise stretch).
    area: 0 under 0.5% of the frame or over 97%, 1 between 3% and 85%, linear in between.
    edge: band width 3 model pixels or less -> 1, 8 or more -> 0 (a real edge is a thin band; a mask that
        is mostly "maybe" is a guess).
    agreement: IoU with the colour model 0.2 -> 0, 0.6 and above -> 1 (white-on-white products score low
        here on purpose: they are the cases worth a look).
    Range and area are gates (either alone can say "no subject"); edge and agreement grade the result.
    """
    s_range = _ramp(signals.raw_range, 0.3, 0.7)
    s_area = min(_ramp(signals.area, 0.005, 0.03), 1.0 - _ramp(signals.area, 0.85, 0.97))
    s_edge = 1.0 - _ramp(signals.band_width, 3.0, 8.0)
    s_agree = _ramp(signals.colour_agreement, 0.2, 0.6)
    return round(float(s_range * s_area * (0.5 * s_edge + 0.5 * s_agree)), 4)


def _ramp(value: float, low: float, high: float) -> float:
    return float(np.clip((value - low) / (high - low), 0.0, 1.0))


def _box_gap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    dy = max(0, a[0] - b[1], b[0] - a[1])
    dx = max(0, a[2] - b[3], b[2] - a[3])
    return float(np.hypot(dx, dy))


# -- files ------------------------------------------------------------------------------------------------


def file_pixels(rgb: np.ndarray, result: Cutout) -> np.ndarray:
    """What a cutout file carries: the decontaminated photo where alpha > 0 (no backdrop colour in the edge, so
    no light halo on a dark page) and zero where it is transparent (nothing of the photo, which costs nothing)."""
    pixels = result.foreground if result.foreground is not None else rgb
    return pixels * (result.alpha != 0)[..., None]


def rgba_png_bytes(rgb: np.ndarray, alpha: np.ndarray) -> bytes:
    """PNG bytes of the photo with `alpha` as its transparency (the stage files' fast writer, imaging/png.py)."""
    from packshot.imaging.decode import encode_png

    if alpha.shape != rgb.shape[:2]:
        raise ValueError(f"alpha {alpha.shape} does not match the image {rgb.shape[:2]}")
    return encode_png(rgb, alpha.astype(np.uint8))


def write_rgba_png(rgb: np.ndarray, alpha: np.ndarray, path: Path) -> None:
    """Write the RGBA PNG atomically: a reader never sees half a file."""
    data = rgba_png_bytes(rgb, alpha)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            handle.write(data)
        os.chmod(handle.name, 0o644)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def decode_rgb(path: Path) -> np.ndarray:
    """Decode a photo file to RGB uint8 with its EXIF orientation applied; transparency goes onto white."""
    with Image.open(path) as image:
        image.load()  # a truncated file fails here, not later
        upright = ImageOps.exif_transpose(image)
        if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info):
            rgba = upright.convert("RGBA")
            canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            upright = Image.alpha_composite(canvas, rgba)
        return np.asarray(upright.convert("RGB"))


SkipHandler = Callable[[Path, str], None]
_DECODE_ERRORS = (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError)


def _log_skip(path: Path, reason: str) -> None:
    logger.warning("skipped %s: %s", path, reason)


def usable_cores() -> int:
    """The CPUs this process may run on (a container's or taskset's share, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class _FileCutter:
    """One model session and the work for one file: decode, cut out, write. One per worker process."""

    def __init__(self, model: SegmentationModel | None, error: Exception | None = None) -> None:
        self.model = model
        self.error = error

    def __call__(self, source: Path, target: Path) -> str | None:
        """Cut `source` out into `target`; the reason it was skipped, or None when it was written."""
        if self.model is None:
            raise self.error or RuntimeError("the worker has no model")
        try:
            rgb = decode_rgb(source)
        except _DECODE_ERRORS as exc:
            return f"cannot decode ({type(exc).__name__}: {exc})"
        result = cut_out(rgb, self.model)
        write_rgba_png(file_pixels(rgb, result), result.alpha, target)
        return None


_cutter: _FileCutter | None = None


def _start_worker(model_name: str, model_path: Path, threads: int) -> None:
    from packshot.errors import ModelError
    from packshot.models.registry import load_model

    global _cutter
    try:
        _cutter = _FileCutter(load_model(model_name, model_path, threads=threads))
    except ModelError as exc:  # raised by the first file's task, so the caller sees the reason
        _cutter = _FileCutter(None, exc)


def _cut_out_in_worker(source: Path, target: Path) -> str | None:
    assert _cutter is not None, "the worker was not started with _start_worker"
    return _cutter(source, target)


def cut_out_files(
    inputs: list[Path],
    out_dir: Path,
    *,
    model_name: str = "u2netp-int8",
    model_path: Path | None = None,
    threads: int | None = None,
    workers: int | None = None,
    on_skip: SkipHandler | None = None,
) -> list[Path]:
    """Cut out each input into out_dir/<stem>.png (RGBA), like rembg's folder mode; returns the paths written.

    The files are shared out over `workers` processes (default: every core this process may use, at most one
    per file), each with its own model session of `threads` onnxruntime threads (default: the cores left per
    worker, at least one): one photo's work is mostly single-threaded numpy, so processes, not threads, use
    the cores. Inputs that do not decode, or whose stem another input already used, are skipped: each skip is
    passed to `on_skip(path, reason)` (default: a warning in the log), so the CLI can list them and set its exit
    status. Model problems (missing or corrupt file) raise ModelError before any file is written.
    """
    # Imported here so that `import packshot.cutout` does not pull in the registry and its families.
    from packshot.models.registry import default_path_for, load_model

    report = on_skip or _log_skip
    out_dir = Path(out_dir)
    # Every input's outcome, in input order: None (written), or the reason it was skipped.
    outcome: dict[int, str | None] = {}
    jobs: list[tuple[Path, Path]] = []
    seen: dict[str, Path] = {}
    sources = [Path(p) for p in inputs]
    for index, source in enumerate(sources):
        target = out_dir / f"{source.stem}.png"
        if target.name in seen:
            outcome[index] = f"same output name as {seen[target.name]}: {target} would be overwritten"
            continue
        seen[target.name] = source
        jobs.append((source, target))
    cores = usable_cores()
    workers = max(1, min(workers or cores, len(jobs)))
    threads = threads or max(1, cores // workers)
    path = model_path or default_path_for(model_name)
    outcomes: list[str | None] = []
    if workers == 1:
        cutter = _FileCutter(load_model(model_name, path, threads=threads))
        outcomes = [cutter(source, target) for source, target in jobs]
    elif jobs:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn, not fork: a forked child would inherit the parent's thread pools (numpy's, onnxruntime's).
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_start_worker, initargs=(model_name, path, threads)) as pool:
            outcomes = list(pool.map(_cut_out_in_worker, *zip(*jobs, strict=True)))
    targets = {source: target for source, target in jobs}
    pending = iter(outcomes)
    written: list[Path] = []
    for index, source in enumerate(sources):
        skipped = outcome[index] if index in outcome else next(pending)
        if skipped is None:
            written.append(targets[source])
        else:
            report(source, skipped)
    return written
