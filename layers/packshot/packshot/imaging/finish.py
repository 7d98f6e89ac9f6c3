"""Finishing geometry: composite on white, crop to the marketplace fill, check the background."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from packshot.errors import ImageRejectedError
from packshot.imaging.channels import channel_min

logger = logging.getLogger(__name__)

# composite_on_white blends in numpy while at most 1 pixel in this many is soft (0 < alpha < 255), else in Pillow.
_BLEND_IN_PILLOW_ABOVE = 8


@dataclass(frozen=True)
class BackgroundCheck:
    """Result of the Amazon-style white background check."""

    perimeter_samples: int
    perimeter_passed: int
    perimeter_ok: bool
    background_pixels: int
    non_white_background_pixels: int
    all_white: bool


def composite_on_white(rgb: np.ndarray, alpha: np.ndarray, *, white_behind: bool = False) -> np.ndarray:
    """Blend rgb over pure white by alpha: alpha 0 gives exactly 255, alpha 255 keeps rgb.

    white_behind says rgb is 255 wherever alpha is 0 already (crop_to_fill's canvas): it is then copied, not
    whitened. Outside the box of alpha > 0 all is background, so only that box is whitened and blended.

    Each value is round((rgb * a + 255 * (255 - a)) / 255), exact at both ends (checked for all 65,536
    value/alpha pairs in tests/unit/test_finish.py). A cutout is almost all background and solid product: those
    pixels are copied (255 or rgb) and only the soft edge, usually a few percent, is blended, 3-4x faster than
    Pillow's paste with a mask, which blends every pixel and copies the frame in and out of Pillow twice. A
    mask that is soft nearly everywhere goes through that paste (the same values in one C pass).
    """
    _check_pair(rgb, alpha)
    out = rgb.copy() if white_behind else np.full_like(rgb, 255)
    box = bounding_box(alpha, threshold=1)
    if box is None:
        return out
    x0, y0, x1, y1 = box
    rgb, alpha, inside = rgb[y0:y1, x0:x1], alpha[y0:y1, x0:x1], out[y0:y1, x0:x1]
    soft = (alpha != 0) & (alpha != 255)
    count = int(np.count_nonzero(soft))
    if count > out.shape[0] * out.shape[1] // _BLEND_IN_PILLOW_ABOVE:
        height, width = alpha.shape
        canvas = Image.new("RGB", (width, height), (255, 255, 255))
        canvas.paste(Image.fromarray(np.ascontiguousarray(rgb)), (0, 0), Image.fromarray(np.ascontiguousarray(alpha)))
        inside[...] = np.asarray(canvas)
        return out
    if not white_behind:
        white_where_transparent(inside, rgb, alpha)
    if count:
        # nonzero on the flat mask, then unravelled: 10x faster than nonzero on the 2-D mask.
        ys, xs = np.unravel_index(np.flatnonzero(soft), soft.shape)
        a = alpha[ys, xs].astype(np.uint32)[:, None]
        # x / 255 is never exactly half-way for an integer x, so adding 127 and flooring rounds it.
        blended = (rgb[ys, xs].astype(np.uint32) * a + 255 * (255 - a) + 127) // 255
        inside[ys, xs] = blended.astype(np.uint8)
    return out


def white_where_transparent(out: np.ndarray, rgb: np.ndarray, alpha: np.ndarray) -> None:
    """Write rgb into out (H, W, 3), with 255 in every channel where alpha is 0; out may be a view of a canvas.

    A copy (rows of contiguous bytes), then 255 stored through the mask into each channel's 2-D view: three times
    faster than an OR with 255 per channel over the whole frame (2.9 ms against 9.3 on a product's box of 1.2 MP),
    and ten times faster than out[alpha == 0] = 255, which indexes (H, W, 3) with an (H, W) mask.
    """
    np.copyto(out, rgb)
    transparent = alpha == 0
    for channel in range(3):
        out[..., channel][transparent] = 255


def bounding_box(alpha: np.ndarray, threshold: int = 128) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1), end exclusive, of pixels with alpha >= threshold; None when there are none.

    Each row's and column's largest value against the threshold, the columns over the box's rows only: no
    frame-sized mask, a third of the time of (alpha >= threshold).any() along both axes (0.3 against 0.9 ms on 4 MP).
    """
    if alpha.size == 0:
        return None
    rows = np.flatnonzero(alpha.max(axis=1) >= threshold)
    if not rows.size:
        return None
    y0, y1 = int(rows[0]), int(rows[-1]) + 1
    cols = np.flatnonzero(alpha[y0:y1].max(axis=0) >= threshold)
    return int(cols[0]), y0, int(cols[-1]) + 1, y1


def fill_ratio(alpha: np.ndarray) -> float:
    """How much of the frame the product fills on its longest side: max(bbox_w / W, bbox_h / H)."""
    box = bounding_box(alpha)
    if box is None:
        return 0.0
    x0, y0, x1, y1 = box
    height, width = alpha.shape
    return max((x1 - x0) / width, (y1 - y0) / height)


def touches_border(alpha: np.ndarray, threshold: int = 128) -> bool:
    """True when product pixels reach the frame edge, which means the photo cut the product off."""
    return bool(
        (alpha[0] >= threshold).any()
        or (alpha[-1] >= threshold).any()
        or (alpha[:, 0] >= threshold).any()
        or (alpha[:, -1] >= threshold).any()
    )


def crop_to_fill(
    rgb: np.ndarray, alpha: np.ndarray, fill: float = 0.85, min_side: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Centre the product on a square canvas where its longest bbox side is `fill` of the side.

    The canvas is white (rgb 255) with alpha 0; rgb is 255 wherever alpha is 0. Pixels are copied,
    never resampled, so a canvas under `min_side` stays at native resolution (upscaling belongs to
    the export, which knows the platform) and is only logged.
    """
    _check_pair(rgb, alpha)
    if not 0.0 < fill <= 1.0:
        raise ValueError(f"fill must be in (0, 1], got {fill}")
    box = bounding_box(alpha)
    if box is None:
        raise ImageRejectedError(
            "the cutout mask is empty: the model found no product; check the photo shows one product"
        )
    x0, y0, x1, y1 = box
    box_w, box_h = x1 - x0, y1 - y0
    longest = max(box_w, box_h)
    # round, not ceil: the fill then lands within half a pixel of the target; max() keeps the whole
    # bbox on the canvas when fill is 1.
    side = max(longest, int(round(longest / fill)))
    if side < min_side:
        logger.warning(
            "canvas %d px is under the %d px minimum; kept at native resolution for the export to scale",
            side,
            min_side,
        )
    # Where the source's (0, 0) lands on the canvas. Copying the whole overlap of source and canvas,
    # not just the bbox, keeps soft edge pixels (alpha < threshold) that lie just outside the bbox.
    off_x = (side - box_w) // 2 - x0
    off_y = (side - box_h) // 2 - y0
    height, width = alpha.shape
    cx0, cy0 = max(0, off_x), max(0, off_y)
    cx1, cy1 = min(side, off_x + width), min(side, off_y + height)
    out_rgb = np.full((side, side, 3), 255, dtype=np.uint8)
    out_alpha = np.zeros((side, side), dtype=np.uint8)
    src = (slice(cy0 - off_y, cy1 - off_y), slice(cx0 - off_x, cx1 - off_x))
    out_alpha[cy0:cy1, cx0:cx1] = alpha[src]
    # What the source had behind the product is not ours to keep: the background is white. Outside the box of
    # alpha > 0 the canvas is white already, so only that box is copied.
    kx0, ky0, kx1, ky1 = bounding_box(out_alpha[cy0:cy1, cx0:cx1], threshold=1) or (0, 0, 0, 0)
    kept = (slice(ky0 - off_y + cy0, ky1 - off_y + cy0), slice(kx0 - off_x + cx0, kx1 - off_x + cx0))
    white_where_transparent(out_rgb[cy0 + ky0 : cy0 + ky1, cx0 + kx0 : cx0 + kx1], rgb[kept], alpha[kept])
    return out_rgb, out_alpha


def verify_background(
    rgb: np.ndarray,
    alpha: np.ndarray | None = None,
    *,
    samples: int = 50,
    min_channel: int = 250,
    pass_ratio: float = 0.95,
) -> BackgroundCheck:
    """Check the background is white the way a marketplace does: perimeter samples, then every pixel.

    The perimeter test mirrors Amazon's: `samples` points evenly spaced on a ring a few pixels inside
    the edge, each passing when every channel is >= `min_channel` (250: near-white reads as white to
    a shopper, while a grey sweep does not). With alpha, every alpha == 0 pixel must be exactly 255.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be (H, W, 3), got {rgb.shape}")
    height, width = rgb.shape[:2]
    ys, xs = _perimeter_points(width, height, samples)
    passed = int((channel_min(rgb[ys, xs]) >= min_channel).sum())
    perimeter_ok = passed >= math.ceil(pass_ratio * samples - 1e-9)
    if alpha is None:
        return BackgroundCheck(samples, passed, perimeter_ok, 0, 0, perimeter_ok)
    if alpha.shape != (height, width):
        raise ValueError(f"alpha must be {(height, width)}, got {alpha.shape}")
    non_white = _non_white_background(rgb, alpha)
    return BackgroundCheck(
        perimeter_samples=samples,
        perimeter_passed=passed,
        perimeter_ok=perimeter_ok,
        background_pixels=alpha.size - int(np.count_nonzero(alpha)),  # no (alpha == 0) mask of the canvas
        non_white_background_pixels=non_white,
        all_white=non_white == 0,
    )


def _non_white_background(rgb: np.ndarray, alpha: np.ndarray) -> int:
    """How many pixels with alpha 0 are not pure white (255 in every channel).

    Outside the box of alpha > 0 every pixel is background: a band there whose bytes are all 255 (one contiguous
    minimum) has none, and only a band that fails that test is counted pixel by pixel. Inside the box each pixel is
    looked at. The same count as over the whole frame, without the per-pixel minimum over the canvas's white margin
    (on a finished 5 MP canvas 6 ms against 11).
    """
    box = bounding_box(alpha, threshold=1)
    if box is None:
        return _non_white(rgb)  # all background
    x0, y0, x1, y1 = box
    inside = int(np.count_nonzero((alpha[y0:y1, x0:x1] == 0) & (channel_min(rgb[y0:y1, x0:x1]) < 255)))
    bands = (rgb[:y0], rgb[y1:], rgb[y0:y1, :x0], rgb[y0:y1, x1:])
    return inside + sum(_non_white(band) for band in bands)


def _non_white(rgb: np.ndarray) -> int:
    """Pixels of rgb with a channel under 255; 0 at once when its smallest value is 255."""
    if rgb.size == 0 or rgb.min() >= 255:
        return 0
    return int(np.count_nonzero(channel_min(rgb) < 255))


def _perimeter_points(width: int, height: int, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of `samples` points evenly spaced on a ring inset from the edge."""
    # A few pixels in, so a one-pixel frame line from a scanner or editor does not decide the check.
    inset = min(3, (width - 1) // 2, (height - 1) // 2)
    left, top = inset, inset
    right, bottom = width - 1 - inset, height - 1 - inset
    ring_w, ring_h = right - left, bottom - top
    length = 2 * (ring_w + ring_h)
    if length == 0:
        return np.full(samples, top), np.full(samples, left)
    t = np.arange(samples) * (length / samples)
    xs = np.empty(samples)
    ys = np.empty(samples)
    top_edge = t < ring_w
    right_edge = (t >= ring_w) & (t < ring_w + ring_h)
    bottom_edge = (t >= ring_w + ring_h) & (t < 2 * ring_w + ring_h)
    left_edge = t >= 2 * ring_w + ring_h
    xs[top_edge], ys[top_edge] = left + t[top_edge], top
    xs[right_edge], ys[right_edge] = right, top + (t[right_edge] - ring_w)
    xs[bottom_edge], ys[bottom_edge] = right - (t[bottom_edge] - ring_w - ring_h), bottom
    xs[left_edge], ys[left_edge] = left, bottom - (t[left_edge] - 2 * ring_w - ring_h)
    return np.rint(ys).astype(np.intp), np.rint(xs).astype(np.intp)


def _check_pair(rgb: np.ndarray, alpha: np.ndarray) -> None:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"rgb must be (H, W, 3) uint8, got {rgb.dtype} {rgb.shape}")
    if alpha.shape != rgb.shape[:2] or alpha.dtype != np.uint8:
        raise ValueError(f"alpha must be uint8 {rgb.shape[:2]}, got {alpha.dtype} {alpha.shape}")
