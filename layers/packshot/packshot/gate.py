"""The auto-approval gate's eyes: what the photo itself says about a cutout, measured at (nearly) full size.

A studio photo has a backdrop: a smooth sweep of one colour, darker where the product's shadow falls. Fitted
to the pixels the cutout calls background, it tells where the mask and the photo disagree:

- backdrop inside the outline: mask pixels that look exactly like the backdrop at their place, in open
  patches (between slats, inside handles, nets and loops);
- product outside the mask: outside pixels that are clearly neither backdrop nor shadow (a grey panel, a lid);
- edges outside the mask: strong edges in the photo beyond the mask's margin (the outline of a white lid or a
  white panel the mask left out: on white, its outline is often all that shows);
- shadow kept: mask pixels that are the backdrop, only darker, joined to the outline's lower part;
- weak outline: the share of the mask's outline where the photo shows no edge (white on white, shadows, guesses);
- disagreement: 1 - IoU of the mask and "differs from the backdrop, not a shadow";
- notched: gaps between parts of the mask, along a row or a column, that are neither backdrop nor shadow (a light
  panel of the product, a silver cap's highlight, cleared as if it were the backdrop showing through).

Each signal comes with the regions it found, so a reviewer looks at the right place. What the signals mean
for the decision is fitted on data (eval/fit_gate.py writes gate.json), not set here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from packshot.imaging.masks import (
    backdrop_grid,
    frame_strip,
    label_components,
    label_runs,
    reduced_photo,
    row_runs,
)
from packshot.imaging.qc import edge_quality

# Signals are measured on a copy whose long side is at most this (integer box reduction): a 2000 px photo is
# measured at 1000 px, where a 10 px gap between slats is still 5 px wide.
GATE_SIDE = 1024
# Levels (of 255): a pixel this close to the fitted backdrop, after a 3x3 mean, can be the backdrop; the noise
# of the photo's own backdrop raises it (NOISE_FACTOR times the robust spread of the backdrop's residuals).
BACKDROP_TOLERANCE = 6.0
NOISE_FACTOR = 3.0
# Clearly not backdrop: at least this far (levels) from it, or this much brighter (a shadow never is), within
# NEAR_SHARE of the frame's long side from the mask (farther away, a sweep's curve can beat a quadratic fit).
PRODUCT_DISTANCE = 24.0
BRIGHTER_LEVELS = 6.0
# The floor zone starts this share of the product's height above its lowest point.
FLOOR_SHARE = 0.03
NEAR_SHARE = 0.05
# A shadow is the backdrop darker by this much at most (ratio of brightness) and keeps its chroma (levels).
SHADOW_MIN_RATIO = 0.45
SHADOW_CHROMA = 8.0
# An edge in the photo: the distance-from-backdrop map changes by this many levels across 2 px.
EDGE_STEP = 14.0
# Outside the mask, edges closer than this (working px) to it are the mask's own edge, not something it missed.
EDGE_MARGIN = 3
# Open patches: a region must hold a (2r+1)^2 window to count (thin specular lines and print do not).
PATCH_RADIUS = 2
# Shaded outside: darker than the backdrop by at least this many levels (or twice its noise), however little.
SHADE_LEVELS = 3.0
# Notched: a gap between two parts of the mask in one row or column counts when it is at most this share of the
# product's larger side wide (a notch or a slot, not the open frame beside the product).
NOTCH_SHARE = 0.15
# A product pixel this close (levels) to the backdrop at its place leaves the cutout only the model to go on.
NEAR_BACKDROP_LEVELS = 24.0
# The backdrop's first fit uses the frame's border strip, this share of its long side wide.
BORDER_SHARE = 0.04
# Signals are measured in the product's box grown by this share of the frame's long side.
WORK_MARGIN = 0.08
# Regions listed per signal on the record (largest first).
MAX_REGIONS = 4

SIGNAL_NAMES = (
    "backdrop_inside",
    "product_outside",
    "edges_outside",
    "closed_off",
    "shadow_kept",
    "weak_outline",
    "disagreement",
    "shaded_outside",
    "notched",
)
# Overlay colours (RGBA) a reviewer sees on top of the photo, one per signal with regions.
OVERLAY_COLOURS = {
    "backdrop_inside": (255, 0, 0, 150),
    "product_outside": (0, 90, 255, 150),
    "edges_outside": (255, 0, 255, 200),
    "closed_off": (0, 200, 255, 150),
    "shadow_kept": (255, 200, 0, 150),
    "weak_outline": (0, 200, 80, 200),
    "shaded_outside": (255, 110, 0, 160),
    "notched": (150, 0, 255, 160),
}


@dataclass(frozen=True)
class GateSignals:
    """The photo's evidence against a cutout, each in 0..1 (0 = no evidence), with where it was found."""

    backdrop_inside: float
    product_outside: float
    edges_outside: float
    closed_off: float
    shadow_kept: float
    weak_outline: float
    disagreement: float
    backdrop_noise: float  # robust spread of the backdrop around its fit, in levels (context, not evidence)
    near_backdrop: float = 0.0  # share of the product within NEAR_BACKDROP_LEVELS of the backdrop: white on white
    edge_quality: float = 25.0  # QC's edge part of the alpha (0..25): a soft band or specks lower it
    regions: dict[str, list[list[int]]] = field(default_factory=dict)  # signal -> [x0, y0, x1, y1] in photo px
    shaded_outside: float = 0.0
    notched: float = 0.0

    def values(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in SIGNAL_NAMES}

    def context(self) -> dict[str, float]:
        """What the features weigh besides the evidence: noise, white on white, the edge's crispness."""
        return {"backdrop_noise": self.backdrop_noise, "near_backdrop": self.near_backdrop,
                "edge_quality": self.edge_quality}


@dataclass(frozen=True)
class GateMeasurement:
    """The signals and the overlay that shows them (RGBA at the working size of the measurement)."""

    signals: GateSignals
    overlay: np.ndarray


def measure_gate(rgb: np.ndarray, alpha: np.ndarray, *, image: Image.Image | None = None) -> GateMeasurement:
    """Measure the gate's signals for a cutout `alpha` (uint8, full size) of the photo `rgb` (uint8 RGB).

    `image` is the same photo as a Pillow image (imaging.masks.photo_image), when the caller has one already.
    """
    if rgb.shape[:2] != alpha.shape or rgb.ndim != 3:
        raise ValueError(f"photo {rgb.shape} and alpha {alpha.shape} do not match")
    height, width = alpha.shape
    factor = max(1, math.ceil(max(height, width) / GATE_SIDE))
    reduced = reduced_photo(rgb, factor, image)
    reduced_alpha = _reduce(alpha, factor)
    full_h, full_w = reduced_alpha.shape
    coeffs, noise = _fit_backdrop(reduced, reduced_alpha < 5)
    # Everything else is measured around the product (plus a margin): the rest of the frame is backdrop the
    # fit already saw, and skipping it halves the work.
    top, bottom, left, right = _work_box(reduced_alpha >= 128, max(16, int(WORK_MARGIN * max(full_h, full_w))))
    # Alpha over 255 at least 0.5 (inside) or under 0.02 (outside), compared on the uint8 levels themselves.
    inside, outside = _alpha_at_least(reduced_alpha[top:bottom, left:right], 0.5, 0.02)
    h, w = inside.shape
    behind = backdrop_grid(coeffs, (np.arange(left, right) + 0.5) / full_w, (np.arange(top, bottom) + 0.5) / full_h)
    smooth = _box3(reduced[top:bottom, left:right])
    diff = smooth - behind
    distance = np.sqrt(np.einsum("...k,...k->...", diff, diff))  # levels
    tolerance = max(BACKDROP_TOLERANCE, NOISE_FACTOR * noise)
    like_backdrop = distance <= tolerance
    # Brightness as the sum of the channels, once for both maps that use it (see _channel_sum).
    smooth_total, behind_total = _channel_sum(smooth), _channel_sum(behind)
    shadowish = _shadow_like(smooth, behind, tolerance, smooth_total, behind_total)
    edges = _edges(distance, tolerance)

    area = max(int(inside.sum()), 1)
    core = _erode(inside, 1)  # the mask less its outline; `beside`: the mask's surroundings, past its outline
    beside = ~_dilate(inside, 1)
    outline = inside & ~core
    outline_len = max(int(outline.sum()), 1)
    maps: dict[str, np.ndarray] = {}

    # Backdrop inside: open patches of backdrop-like pixels well inside the mask.
    maps["backdrop_inside"] = _open(core & like_backdrop & ~shadowish, PATCH_RADIUS)
    # Product outside: open patches near the mask that are clearly off the backdrop and not shadow, or brighter
    # than the backdrop (a shadow never is; a white sole on an off-white sweep is).
    lift = smooth_total / np.float32(3.0) - behind_total / np.float32(3.0)  # the mean over the channels
    brighter = lift >= max(BRIGHTER_LEVELS, NOISE_FACTOR * noise)
    # Under the product's base, anything darker than the floor is shadow, tinted or not (glass casts colour).
    floor = _floor_zone(inside) & (lift < 0)
    clearly = ((distance >= max(PRODUCT_DISTANCE, tolerance * 2)) & ~shadowish & ~floor) | brighter
    near = _dilate(inside, max(4, int(NEAR_SHARE * max(h, w))))  # within that radius of the mask
    maps["product_outside"] = _open(beside & clearly & near, PATCH_RADIUS)
    # Shaded outside: a surface a little darker than the backdrop beside the product's upper half, where no
    # floor shadow reaches: a white box's top face or a lid in shade, which product_outside takes for shadow.
    shade = lift <= -max(SHADE_LEVELS, 2.0 * noise)
    maps["shaded_outside"] = _open(beside & shade & near & _upper_half(inside), PATCH_RADIUS)
    # Notched: gaps between parts of the mask that the backdrop does not explain. Backdrop seen through a slot
    # or a handle is the backdrop; a shadow between two parts is a shadow; what is neither is product the
    # cutout cleared (a silver cap's panels, nearly the backdrop's white, went this way).
    notch = _notch_width(inside)
    gaps = _gaps(inside, notch, axis=1) | _gaps(inside, notch, axis=0)
    maps["notched"] = _open(gaps & beside & ~like_backdrop & ~shadowish, PATCH_RADIUS)
    # Edges outside: photo edges beyond the mask's margin, except where a shadow meets the backdrop (both sides
    # of such an edge are backdrop or shadow; a white lid's edge has a side brighter than the backdrop).
    quiet = like_backdrop | shadowish
    shadow_edge = _erode(quiet, 2)
    maps["edges_outside"] = edges & ~_dilate(inside, EDGE_MARGIN) & ~shadow_edge & ~frame_strip(h, w, 3)
    # Closed off: outside regions the backdrop cannot reach without crossing an edge the mask does not cover
    # (a white sole between the upper and the outsole line, the white end of a box), unlike a hole, which only
    # the mask surrounds.
    maps["closed_off"] = _closed_off(outside_any := ~inside, maps["edges_outside"])
    del outside_any
    # Shadow kept: smooth shadow-like regions that the mask's outline cuts through with no edge in the photo.
    maps["shadow_kept"] = _cut_regions(shadowish & ~_dilate(edges, 1), inside, outside)
    # Weak outline: outline pixels with no photo edge within 2 px.
    maps["weak_outline"] = outline & ~_dilate(edges, 2)
    # Disagreement: the mask against "differs from the backdrop and is not a shadow", both cleaned.
    photo_says = _open(~like_backdrop & ~shadowish, 1)
    union = int((inside | photo_says).sum())
    disagreement = 1.0 - (int((inside & photo_says).sum()) / union if union else 1.0)

    near_backdrop = float((inside & (distance <= NEAR_BACKDROP_LEVELS)).sum()) / area
    signals = GateSignals(
        near_backdrop=round(near_backdrop, 4),
        # QC's edge part measures at a 1000 px reference anyway: the working copy is enough.
        edge_quality=round(edge_quality(reduced_alpha), 2),
        backdrop_inside=_share(maps["backdrop_inside"], area),
        product_outside=_share(maps["product_outside"], area),
        edges_outside=_share(maps["edges_outside"], outline_len),
        closed_off=_share(maps["closed_off"], area),
        shaded_outside=_share(maps["shaded_outside"], area),
        notched=_share(maps["notched"], area),
        shadow_kept=_share(maps["shadow_kept"], area),
        weak_outline=_share(maps["weak_outline"], outline_len),
        disagreement=round(float(disagreement), 4),
        backdrop_noise=round(float(noise), 2),
        regions={name: _regions(m, factor, (left, top)) for name, m in maps.items()
                 if name != "weak_outline" and m.any()},
    )
    overlay = np.zeros((full_h, full_w, 4), np.uint8)
    _overlay(maps, overlay[top:bottom, left:right])
    return GateMeasurement(signals=signals, overlay=overlay)


def _alpha_at_least(alpha: np.ndarray, inside: float, outside: float) -> tuple[np.ndarray, np.ndarray]:
    """(alpha / 255 >= inside, alpha / 255 < outside) for uint8 alpha, as float32 division gives them: the levels
    where each begins are found once, so the map is compared as it is instead of as a float copy."""
    levels = np.arange(256, dtype=np.float32) / 255.0
    return alpha >= int(np.searchsorted(levels, inside)), alpha < int(np.searchsorted(levels, outside))


def _work_box(inside: np.ndarray, margin: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the product's box grown by `margin`, within the frame; the frame if empty."""
    height, width = inside.shape
    rows = np.flatnonzero(inside.any(axis=1))
    cols = np.flatnonzero(inside.any(axis=0))
    if len(rows) == 0:
        return 0, height, 0, width
    return (max(0, int(rows[0]) - margin), min(height, int(rows[-1]) + margin + 1),
            max(0, int(cols[0]) - margin), min(width, int(cols[-1]) + margin + 1))


def _floor_zone(inside: np.ndarray) -> np.ndarray:
    """Rows from just above the product's lowest point down: where it stands and its shadows fall."""
    zone = np.zeros(inside.shape, bool)
    rows = np.flatnonzero(inside.any(axis=1))
    if len(rows):
        zone[max(0, rows[-1] - max(2, int(FLOOR_SHARE * (rows[-1] - rows[0] + 1)))) :] = True
    return zone


def _upper_half(inside: np.ndarray) -> np.ndarray:
    """Rows above the middle of the product's height."""
    zone = np.zeros(inside.shape, bool)
    rows = np.flatnonzero(inside.any(axis=1))
    if len(rows):
        zone[: rows[0] + (rows[-1] - rows[0]) // 2] = True
    return zone


def _notch_width(inside: np.ndarray) -> int:
    """The widest gap (px) that counts as a notch: NOTCH_SHARE of the product's larger side."""
    rows = np.flatnonzero(inside.any(axis=1))
    cols = np.flatnonzero(inside.any(axis=0))
    if len(rows) == 0:
        return 0
    return max(4, int(NOTCH_SHARE * max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)))


def _gaps(mask: np.ndarray, width: int, axis: int) -> np.ndarray:
    """Pixels outside the mask with mask on both sides along `axis` (1: in their row, 0: in their column), the gap
    at most `width` px wide.

    Found as runs of outside pixels, not per pixel: a run is a gap when it is at most `width` long with the mask
    on both sides, an open end counting as mask four line lengths away (so an open run is one only if `width`
    reaches that far, as with the per-pixel accumulations this replaces).
    """
    lines = mask if axis == 1 else mask.T
    count, size = lines.shape
    rows, starts, ends = row_runs(~lines)
    far = size * 4
    before = np.where(starts > 0, starts - 1, -far)  # the mask pixel before the run
    after = np.where(ends < size, ends, far)  # and after it
    keep = after - before - 1 <= width
    rows, starts, ends = rows[keep], starts[keep], ends[keep]
    out = np.zeros((count, size), bool)
    lengths = ends - starts
    firsts = rows * size + starts
    out.reshape(-1)[np.repeat(firsts - (np.cumsum(lengths) - lengths), lengths) + np.arange(int(lengths.sum()))] = True
    return out if axis == 1 else out.T


def _share(mask: np.ndarray, total: int) -> float:
    return round(min(1.0, float(mask.sum()) / total), 4)


def _reduce(image: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return image
    return np.asarray(Image.fromarray(np.ascontiguousarray(image)).reduce(factor))


def _fit_backdrop(rgb: np.ndarray, outside: np.ndarray) -> tuple[np.ndarray, float]:
    """The backdrop as a quadratic sweep per channel, fitted robustly to the outside pixels; and its noise.

    Trimmed passes: shadows near the product and stray objects are far from the first fit and drop out.
    Returns the (6, 3) coefficients over (1, u, v, u^2, v^2, uv) on [0, 1] coordinates and the robust spread
    (median plus 1.4826 MAD) of the residuals in levels.
    """
    height, width = outside.shape
    # Flat indices, sampled before they are split into rows and columns: the same points as np.nonzero's, at a
    # fifth of its cost on a working copy that is mostly backdrop.
    flat = np.flatnonzero(outside)
    if len(flat) < 100:
        # Almost no background: the frame's border strip stands in for it.
        flat = np.flatnonzero(frame_strip(height, width, 2))
    step = max(1, len(flat) // 6000)  # six coefficients per channel: a few thousand points fix them
    ys, xs = np.divmod(flat[::step], width)
    u, v = (xs + 0.5) / width, (ys + 0.5) / height
    basis = np.stack([np.ones_like(u), u, v, u * u, v * v, u * v], axis=1)
    colours = rgb[ys, xs].astype(np.float64)
    # The first pass fits the frame's border strip alone when it has enough backdrop: a light case or panel the
    # mask left out beside the product is then far from the fit and drops out, instead of bending the fit and
    # inflating the noise by which every signal's tolerance is set (and hiding itself behind it).
    border = _in_strip(ys, xs, (height, width), max(2, int(BORDER_SHARE * max(height, width))))
    keep = border if border.sum() >= 200 else np.ones(len(ys), bool)
    coeffs = np.zeros((6, 3))
    spread = 0.0
    for _ in range(3):
        b = basis[keep]
        try:  # normal equations: a 6x6 solve, far cheaper than lstsq's SVD, well conditioned on [0, 1]
            coeffs = np.linalg.solve(b.T @ b, b.T @ colours[keep])
        except np.linalg.LinAlgError:
            coeffs, *_ = np.linalg.lstsq(b, colours[keep], rcond=None)
        residual = np.sqrt(((basis @ coeffs - colours) ** 2).sum(axis=1))
        median = float(np.median(residual[keep]))
        spread = 1.4826 * float(np.median(np.abs(residual[keep] - median))) + median
        keep = residual <= max(3.0 * spread, 4.0)
        if keep.sum() < 50:
            break
    return coeffs.astype(np.float32), spread


def _in_strip(ys: np.ndarray, xs: np.ndarray, shape: tuple[int, int], px: int) -> np.ndarray:
    """frame_strip(*shape, px)[ys, xs], tested at the points instead of drawn over the whole frame."""
    height, width = shape
    return (ys < px) | (ys >= height - px) | (xs < px) | (xs >= width - px)


def _shadow_like(
    rgb: np.ndarray, behind: np.ndarray, tolerance: float, total: np.ndarray, behind_total: np.ndarray
) -> np.ndarray:
    """The backdrop, darker: brightness ratio in [SHADOW_MIN_RATIO, 1) and the backdrop's chroma kept.

    `total` and `behind_total` are the channel sums (_channel_sum) of `rgb` and `behind`.
    """
    bright = behind_total + np.float32(1e-3)
    ratio = total / bright
    # The chroma test only where the other two hold (the backdrop itself and the brighter product fail them): the
    # same float32 operations per pixel, on a gathered list instead of strided channels of the whole box.
    at = np.flatnonzero((total < bright - np.float32(3.0 * tolerance)) & (ratio >= SHADOW_MIN_RATIO))
    scale = ratio.reshape(-1)[at]
    pixels, backdrop = rgb.reshape(-1, 3)[at], behind.reshape(-1, 3)[at]
    chroma = np.zeros(len(at), np.float32)
    for k in range(3):  # |rgb - behind * ratio| per channel, summed as squares
        channel = pixels[:, k] - backdrop[:, k] * scale
        chroma += channel * channel
    out = np.zeros(total.shape, bool)
    out.reshape(-1)[at] = chroma <= max(SHADOW_CHROMA, tolerance) ** 2
    return out


def _channel_sum(pixels: np.ndarray) -> np.ndarray:
    """The sum of the three channels of (..., 3) float32 pixels: the same numbers as pixels.sum(axis=-1).

    Added in the same order as numpy's reduction, but as two element-wise additions: a reduction over a 3-long
    last axis costs about six times as much (19 ms against 3 ms on a 1000x800 working copy).
    """
    return pixels[..., 0] + pixels[..., 1] + pixels[..., 2]


def _edges(distance: np.ndarray, tolerance: float) -> np.ndarray:
    """Where the distance-from-backdrop map steps by EDGE_STEP (raised over noisy backdrops) across 2 px."""
    step = max(EDGE_STEP, 1.5 * tolerance)
    out = np.zeros(distance.shape, bool)
    dx = np.abs(distance[:, 2:] - distance[:, :-2]) >= step
    dy = np.abs(distance[2:] - distance[:-2]) >= step
    out[:, 1:-1] |= dx
    out[1:-1] |= dy
    return out


def _box3(rgb: np.ndarray) -> np.ndarray:
    """3x3 mean (float32), separable, edges replicated: sensor noise and JPEG blocks averaged before distances.

    The sums of uint8 pixels are added in uint16 (at most 9 * 255, exact, as the float32 sums were) and divided
    once in float32: the same numbers as summing in float32, with a third of the memory traffic.
    """
    padded = np.pad(rgb, ((1, 1), (1, 1), (0, 0)), mode="edge")
    rows = padded[:-2].astype(np.uint16)
    rows += padded[1:-1]
    rows += padded[2:]
    total = rows[:, :-2] + rows[:, 1:-1]
    total += rows[:, 2:]
    return np.divide(total, np.float32(9.0), dtype=np.float32)


def _spread(mask: np.ndarray, radius: int, axis: int) -> np.ndarray:
    """OR over the window of 2r+1 pixels centred on each pixel along one axis (False beyond the frame).

    Sliced along `axis` where it lies, not moved to the front: along the rows of a row-major map, the windows of a
    moved axis are strided views whose ORs cost two to three times as much (0.69 ms against 0.27 at 900x800, r 1).
    """
    size, count = 2 * radius + 1, mask.shape[axis]

    def along(start: int | None, stop: int | None) -> tuple[slice, ...]:
        index = [slice(None)] * mask.ndim
        index[axis] = slice(start, stop)
        return tuple(index)

    shape = list(mask.shape)
    shape[axis] = count + 2 * radius
    padded = np.zeros(shape, bool)
    padded[along(radius, radius + count)] = mask
    span, covered = 1, padded  # covered[i]: OR of padded[i : i + span] along the axis
    while 2 * span <= size:
        covered = covered[along(None, -span)] | covered[along(span, None)]
        span *= 2
    # Two windows of `span` (span <= size < 2 * span) overlap to cover padded[i : i + size].
    return covered[along(None, count)] | covered[along(size - span, size - span + count)]


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation by a (2r+1) square (False beyond the frame): box_count(mask, r) > 0, as two separable passes
    of ORs over windows that double in length (log2 of the window's steps, not 2r shifts or a window sum: the
    `near` radius is a twentieth of the frame)."""
    return _spread(_spread(mask, radius, 0), radius, 1) if radius else mask


def _erode(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary erosion by a (2r+1) square; outside the frame counts as set, so the border does not erode."""
    return ~_dilate(~mask, radius) if radius else mask


def _open(mask: np.ndarray, radius: int) -> np.ndarray:
    return _dilate(_erode(mask, radius), radius) & mask


def _closed_off(outside: np.ndarray, edges_outside: np.ndarray) -> np.ndarray:
    """Outside pixels cut off from the frame's border by edges outside the mask, where those edges bound them.

    The backdrop proper is whatever of the outside reaches the border without crossing an edge; a region it
    cannot reach is a hole (only the mask around it: fine) or something the mask missed (edges of the photo
    around it that the mask does not cover). Only regions with such edges on a fifth of their rim count.
    """
    walls = _dilate(edges_outside, 1)
    free = outside & ~walls
    if not free.any() or not edges_outside.any():
        return np.zeros_like(outside)
    labels, count = label_components(free)
    border = np.zeros(count + 1, bool)
    border[np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])] = True
    enclosed = ~border
    enclosed[0] = False
    if not enclosed.any():
        return np.zeros_like(outside)
    region = enclosed[labels]
    rim = _dilate(region, 2) & ~region
    flat = labels.ravel()
    # Each enclosed region's rim: how much of it is the photo's edges (walls) rather than the mask.
    grown = _grow_labels(labels * region, 2)
    on_walls = np.bincount(grown.ravel(), weights=(rim & walls).ravel(), minlength=count + 1)
    on_rim = np.bincount(grown.ravel(), weights=rim.ravel(), minlength=count + 1)
    size = np.bincount(flat, minlength=count + 1)
    keep = enclosed & (on_walls >= 0.2 * np.maximum(on_rim, 1)) & (size >= 25)
    return keep[labels]


def _grow_labels(labels: np.ndarray, radius: int) -> np.ndarray:
    """Spread each non-zero label into the zero pixels around it (radius px, max label wins on ties)."""
    out = labels.copy()
    for _ in range(radius):
        grown = out.copy()
        np.maximum(grown[1:], out[:-1], out=grown[1:])
        np.maximum(grown[:-1], out[1:], out=grown[:-1])
        np.maximum(grown[:, 1:], out[:, :-1], out=grown[:, 1:])
        np.maximum(grown[:, :-1], out[:, 1:], out=grown[:, :-1])
        out = np.where(out > 0, out, grown)
    return out


def _cut_regions(smooth: np.ndarray, inside: np.ndarray, outside: np.ndarray) -> np.ndarray:
    """The inside part of smooth regions that continue outside the mask: the outline cut through them.

    A kept shadow is one shadow, part in the mask and part out, with no edge where the mask ends; a grey
    product touching its own shadow is separated from it by its outline's edge, which `smooth` excludes.
    """
    candidate = _open(smooth, 1)
    if not candidate.any():
        return candidate
    labels, count = label_components(candidate)
    # Pixel counts per region: the labels of the pixels counted, not a float weight for every pixel of the map.
    inner = np.bincount(labels[_erode(inside, 2) & candidate], minlength=count + 1)
    outer = np.bincount(labels[outside & candidate], minlength=count + 1)
    cut = (inner >= 9) & (outer >= 9)
    cut[0] = False
    return cut[labels] & inside


def _regions(mask: np.ndarray, factor: int, origin: tuple[int, int]) -> list[list[int]]:
    """Boxes (x0, y0, x1, y1) in photo pixels around the largest connected regions of a signal's map.

    `origin` is where the map's (0, 0) lies in the working copy; `factor` scales the working copy to the photo.
    """
    # From the components' row runs: a run's first and last pixel bound its component as all its pixels do.
    runs = label_runs(mask)
    count = runs.count
    if count == 0:
        return []
    sizes = np.bincount(runs.labels, weights=runs.ends - runs.starts, minlength=count + 1).astype(np.int64)
    x0 = np.full(count + 1, np.iinfo(np.int64).max)
    y0 = x0.copy()
    x1 = np.full(count + 1, -1)
    y1 = x1.copy()
    np.minimum.at(x0, runs.labels, runs.starts)
    np.minimum.at(y0, runs.labels, runs.rows)
    np.maximum.at(x1, runs.labels, runs.ends - 1)
    np.maximum.at(y1, runs.labels, runs.rows)
    left, top = origin
    boxes = []
    for label in np.argsort(sizes[1:])[::-1][:MAX_REGIONS] + 1:
        boxes.append([int(x0[label] + left) * factor, int(y0[label] + top) * factor,
                      int(x1[label] + left + 1) * factor, int(y1[label] + top + 1) * factor])
    return boxes


def _overlay(maps: dict[str, np.ndarray], overlay: np.ndarray) -> None:
    """Paint each signal's pixels in its colour into `overlay` (RGBA, the maps' shape, transparent where nothing
    is painted): the frame's overlay around the product's box, written in place instead of copied into it."""
    for name, colour in OVERLAY_COLOURS.items():
        mask = maps.get(name)
        if mask is not None and mask.any():
            overlay[_dilate(mask, 1) if name in ("edges_outside", "weak_outline") else mask] = colour


# -- the fitted decision ----------------------------------------------------------------------------------

# The evidence the confidence is made of: each is 0 when the photo and the model have nothing against the
# cutout and grows with the evidence, so every fitted weight is <= 0 (more evidence never raises confidence).
FEATURES = (
    *SIGNAL_NAMES,
    "model_range_gap",
    "model_band",
    "model_colour_disagreement",
    "area_extreme",
    "backdrop_noise",
    "near_backdrop",
    "edge_deficit",
)
# Gate signals a reviewer is told about when they weigh this much (in logit) against the cutout.
FIRED_WEIGHT = 0.5
GATE_FILE = Path(__file__).with_name("gate.json")


def features(signals: GateSignals, model_signals: Mapping[str, float]) -> dict[str, float]:
    """The gate's features from its own signals and the model's (packshot.cutout.Signals as a mapping)."""
    area = float(model_signals.get("area", 0.3))
    return {
        "backdrop_inside": math.sqrt(signals.backdrop_inside),
        "product_outside": math.sqrt(signals.product_outside),
        "edges_outside": math.sqrt(signals.edges_outside),
        "closed_off": math.sqrt(signals.closed_off),
        "shadow_kept": math.sqrt(signals.shadow_kept),
        "weak_outline": signals.weak_outline,
        "disagreement": signals.disagreement,
        "shaded_outside": math.sqrt(signals.shaded_outside),
        "notched": math.sqrt(signals.notched),
        "model_range_gap": max(0.0, 1.0 - float(model_signals.get("raw_range", 1.0))),
        "model_band": min(1.0, float(model_signals.get("band_width", 0.0)) / 10.0),
        "model_colour_disagreement": max(0.0, 1.0 - float(model_signals.get("colour_agreement", 1.0))),
        "area_extreme": max(0.0, 0.03 - area) / 0.03 + max(0.0, area - 0.85) / 0.15,
        "backdrop_noise": min(1.0, signals.backdrop_noise / 20.0),
        "near_backdrop": math.sqrt(signals.near_backdrop),
        "edge_deficit": max(0.0, 1.0 - signals.edge_quality / 25.0),
    }


@dataclass(frozen=True)
class GateModel:
    """A logistic model of "this cutout is good" over FEATURES, and the confidence it must reach to ship."""

    weights: dict[str, float]
    bias: float
    min_confidence: float
    qc_approve_min: int = 90  # the QC score floor fitted with it (a deployment may set its own)
    fitted_on: dict[str, object] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = GATE_FILE) -> GateModel:
        data = json.loads(path.read_text())
        missing = set(FEATURES) - set(data["weights"])
        if missing:
            raise ValueError(f"{path} has no weight for {sorted(missing)}: fit the gate again (make fit-gate)")
        return cls(weights={k: float(v) for k, v in data["weights"].items()}, bias=float(data["bias"]),
                   min_confidence=float(data["min_confidence"]), qc_approve_min=int(data["qc_approve_min"]),
                   fitted_on=dict(data.get("fitted_on", {})))

    def contributions(self, values: Mapping[str, float]) -> dict[str, float]:
        """Each feature's push on the logit (<= 0: evidence against the cutout)."""
        # A feature the stored gate was not fitted with weighs nothing until `make fit-gate` runs again.
        return {name: self.weights.get(name, 0.0) * float(values[name]) for name in FEATURES}

    def confidence(self, values: Mapping[str, float]) -> float:
        """The fitted probability that the cutout is good (IoU >= 0.95 with what a person would cut)."""
        logit = self.bias + sum(self.contributions(values).values())
        return round(1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit)))), 4)


@dataclass(frozen=True)
class GateVerdict:
    """How far to trust a cutout, and which of the photo's signals spoke against it, strongest first."""

    confidence: float
    passes: bool
    fired: tuple[str, ...]
    signals: GateSignals
    min_confidence: float  # the bar it was held to

    def reasons(self) -> list[str]:
        """What a reviewer is told: the confidence against the gate's bar, each fired signal and where it is."""
        head = (f"the auto-approval gate is not sure of this cutout (confidence {self.confidence:.2f}"
                f" < {self.min_confidence:.2f})")
        found = [
            SIGNAL_MEANINGS[name] + _where(self.signals.regions.get(name, []))
            for name in self.fired
        ]
        return [head + (": " + "; ".join(found) if found else "")]

    def as_record(self) -> dict[str, object]:
        """The verdict as the record and the state machine carry it (small: values and boxes, no pixels)."""
        return {"confidence": self.confidence, "passes": self.passes, "fired": list(self.fired),
                "min_confidence": self.min_confidence,
                "signals": {**self.signals.values(), **self.signals.context()},
                "regions": self.signals.regions}

    @classmethod
    def from_record(cls, data: Mapping[str, object]) -> GateVerdict:
        values = dict(data.get("signals") or {})  # type: ignore[call-overload]
        regions = dict(data.get("regions") or {})  # type: ignore[call-overload]
        signals = GateSignals(**{name: float(values.get(name, 0.0)) for name in SIGNAL_NAMES},
                              backdrop_noise=float(values.get("backdrop_noise", 0.0)),
                              near_backdrop=float(values.get("near_backdrop", 0.0)),
                              edge_quality=float(values.get("edge_quality", 25.0)), regions=regions)
        fired = tuple(str(name) for name in data.get("fired") or ())  # type: ignore[attr-defined]
        return cls(confidence=float(data.get("confidence", 0.0)),  # type: ignore[arg-type]
                   passes=bool(data.get("passes", False)), fired=fired, signals=signals,
                   min_confidence=float(data.get("min_confidence", 1.0)))  # type: ignore[arg-type]


SIGNAL_MEANINGS = {
    "backdrop_inside": "the backdrop shows inside the product's outline but the cutout keeps it (between slats, in a"
                       " handle, net or loop?)",
    "product_outside": "something that is neither backdrop nor shadow lies outside the cutout (a panel or part left"
                       " out?)",
    "edges_outside": "the photo has edges outside the cutout (the outline of a white lid or panel left out?)",
    "closed_off": "a region outside the cutout is closed off from the backdrop by edges of the photo (a white"
                  " panel, sole or lid left out?)",
    "shadow_kept": "a shadow runs into the cutout with no edge where it ends (a shadow kept as product?)",
    "weak_outline": "much of the cutout's outline follows no edge in the photo (white on white, or the model's guess)",
    "disagreement": "the cutout disagrees with what differs from the backdrop in the photo",
    "shaded_outside": "a surface a little darker than the backdrop touches the cutout's upper half from outside"
                      " (a top face or lid in shade, left out?)",
    "notched": "a gap between parts of the cutout is neither backdrop nor shadow (a light panel or highlight of the"
               " product cut away?)",
}


def gate_findings(record: Mapping[str, object]) -> dict[str, object]:
    """What a reviewer is shown of a stored verdict: confidence against the bar, and each fired signal with its
    meaning, its colour on the overlay (`gate.png`) and its boxes in the photo's pixels."""
    verdict = GateVerdict.from_record(record)
    return {
        "confidence": round(verdict.confidence, 3),
        "min_confidence": round(verdict.min_confidence, 3),
        "passes": verdict.passes,
        "fired": [
            {"signal": name, "meaning": SIGNAL_MEANINGS[name],
             "colour": "rgb({}, {}, {})".format(*OVERLAY_COLOURS.get(name, (128, 128, 128, 0))[:3]),
             "regions": [list(box) for box in verdict.signals.regions.get(name, [])]}
            for name in verdict.fired if name in SIGNAL_MEANINGS
        ],
    }

def _where(boxes: list[list[int]]) -> str:
    if not boxes:
        return ""
    x0, y0, x1, y1 = boxes[0]
    more = f" and {len(boxes) - 1} more" if len(boxes) > 1 else ""
    return f" at x {x0}-{x1}, y {y0}-{y1}{more}"


def judge(signals: GateSignals, model_signals: Mapping[str, float], model: GateModel | None = None) -> GateVerdict:
    """The gate's verdict on one cutout: its calibrated confidence, and whether that is enough to ship."""
    gate = model or default_gate()
    values = features(signals, model_signals)
    contributions = gate.contributions(values)
    fired = tuple(
        name for name, push in sorted(contributions.items(), key=lambda item: item[1])
        if push <= -FIRED_WEIGHT and name in SIGNAL_NAMES
    )
    confidence = gate.confidence(values)
    return GateVerdict(confidence=confidence, passes=confidence >= gate.min_confidence, fired=fired, signals=signals,
                       min_confidence=gate.min_confidence)


_default: list[GateModel] = []


def default_gate() -> GateModel:
    """The committed gate (gate.json), loaded once per process."""
    if not _default:
        _default.append(GateModel.load())
    return _default[0]
