"""Estimate how hard a photo is to cut out; only a category rule sends a product past the machine to a person.

Measurements route "simple" or "medium" and say why; they never decide "complex". Whether a cutout ships is the
auto-approval gate's call, made on the cutout itself (busy prints and white products are often cut out well,
and a plain-looking bench is not). A category rule (jewellery, fur, glass...) may send an image to a person;
no rule sends one past the gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from packshot.imaging.channels import channel_max
from packshot.imaging.masks import frame_strip
from packshot.imaging.png import pixels_of

# Classification runs on a copy this size: enough to see outlines and texture, ~100x less work
# than a 24 MP frame.
WORKING_SIDE = 512


def _default_categories() -> dict[str, str]:
    return {
        "jewelry": "complex",
        "fur": "complex",
        "lingerie": "complex",
        "transparent": "complex",
        "glass": "complex",
        "electronics": "simple",
        "books": "simple",
        "cosmetics_tube": "medium",
    }


@dataclass(frozen=True)
class ClassifyRules:
    """Thresholds of the router; a known category overrides the measurements."""

    # Calibrated on synthetic frames (tests/unit/test_complexity.py): a plain box or disc measures
    # 0.0-0.25 (0.3 with sensor noise), heavily printed packaging ~0.7, thin chains, hair-like
    # strokes and noisy textures 0.9 and up.
    simple_max_edge: float = 0.40
    colour_risk_medium: float = 0.40
    # Below this share of border pixels matching the background colour the scene is not a backdrop.
    min_background_uniformity: float = 0.85
    categories: dict[str, str] = field(default_factory=_default_categories)


@dataclass(frozen=True)
class Classification:
    """Route for a photo and the measurements behind it."""

    route: str  # "simple" | "medium" | "complex"
    edge_complexity: float  # 0..1: how much strong edge the product carries for its size
    colour_risk: float  # 0..1: how close the product colour is to the background colour
    background_uniformity: float  # 0..1: share of the border that matches the background colour
    reasons: tuple[str, ...]


# A pixel within this many levels (largest channel difference) of the background colour is
# background: photo noise and a light vignette stay under it, a pale grey product does not.
_BACKGROUND_TOLERANCE = 12
# Distance at which a product colour is clearly not the background any more (risk 0).
_SAFE_DISTANCE = 80
# Gradient (largest channel step between neighbours) that counts as a strong edge; soft shading
# and JPEG noise on the downscaled copy stay under it.
_EDGE_STEP = 40
# Under this share of the frame nothing stands out from the background at all.
_MIN_PRODUCT_SHARE = 0.002


def classify(rgb: np.ndarray, category: str | None = None, rules: ClassifyRules = ClassifyRules()) -> Classification:
    """Route a photo to "simple", "medium" or "complex" from its edges, colours and category."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"rgb must be (H, W, 3) uint8, got {rgb.dtype} {rgb.shape}")
    small = _downscale(rgb).astype(np.int16)
    height, width = small.shape[:2]

    strip = max(2, round(0.03 * min(height, width)))
    border = small[frame_strip(height, width, strip)]
    background = np.median(border, axis=0)
    border_distance = channel_max(np.abs(border - background))
    uniformity = float((border_distance <= _BACKGROUND_TOLERANCE + 4).mean())

    distance = channel_max(np.abs(small - background))
    product = distance > _BACKGROUND_TOLERANCE
    share = float(product.mean())

    if share < _MIN_PRODUCT_SHARE:
        edge = 0.0
        risk = 1.0
    else:
        edge = _edge_complexity(small, product)
        # Per product pixel: 1 at the background tolerance, 0 from _SAFE_DISTANCE on.
        closeness = 1.0 - (distance[product] - _BACKGROUND_TOLERANCE) / (_SAFE_DISTANCE - _BACKGROUND_TOLERANCE)
        risk = float(np.clip(closeness, 0.0, 1.0).mean())

    measured, reasons = _route_by_measurement(edge, risk, uniformity, share, rules)
    key = (category or "").strip().lower()
    if key and key in rules.categories:
        route = rules.categories[key]
        reasons = [f"category {key} -> {route}"] + (
            [f"measurements alone would say {measured}"] if measured != route else []
        )
    else:
        route = measured
        if key:
            reasons = [f"category {key} has no rule; routed by measurement"] + reasons
    return Classification(
        route=route,
        edge_complexity=round(edge, 4),
        colour_risk=round(risk, 4),
        background_uniformity=round(uniformity, 4),
        reasons=tuple(reasons),
    )


def _route_by_measurement(
    edge: float, risk: float, uniformity: float, share: float, rules: ClassifyRules
) -> tuple[str, list[str]]:
    """"medium" with the reasons a cutout may be hard, else "simple"; never "complex" (see the module docstring)."""
    reasons: list[str] = []
    if uniformity < rules.min_background_uniformity:
        reasons.append(
            f"background not uniform: {uniformity:.0%} of the border matches its colour"
            f" (< {rules.min_background_uniformity:.0%})"
        )
    if edge > rules.simple_max_edge:
        reasons.append(f"detailed outline or texture: edge complexity {edge:.2f} > {rules.simple_max_edge:.2f}")
    if share < _MIN_PRODUCT_SHARE:
        reasons.append("nothing stands out from the background (white on white?)")
    elif risk >= rules.colour_risk_medium:
        reasons.append(
            f"parts of the product are near the background colour: colour risk {risk:.2f}"
            f" >= {rules.colour_risk_medium:.2f}"
        )
    if reasons:
        return "medium", reasons + ["the auto-approval gate checks the cutout"]
    return "simple", [f"clean outline on a uniform background: edge complexity {edge:.2f}, colour risk {risk:.2f}"]


def working_copy(rgb: np.ndarray | Image.Image) -> np.ndarray:
    """The copy classify measures on (at most WORKING_SIDE): classify gives the same answer for it as for rgb.

    Pre-processing stores it beside the master, so the classify stage reads a 0.3 MB file instead of decoding
    the full-resolution master. rgb may be the RGB Pillow image the master's array was read from: the same
    pixels, so the same copy, without copying the frame back into Pillow (decode.py does that).
    """
    return _downscale(rgb)


def _downscale(rgb: np.ndarray | Image.Image) -> np.ndarray:
    width, height = rgb.size if isinstance(rgb, Image.Image) else (rgb.shape[1], rgb.shape[0])
    scale = WORKING_SIDE / max(height, width)
    if scale >= 1.0:
        return pixels_of(rgb) if isinstance(rgb, Image.Image) else rgb
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # reducing_gap lets Pillow box-reduce by an integer factor first: fast, and the averaging
    # removes sensor noise that would otherwise read as texture.
    image = rgb if isinstance(rgb, Image.Image) else Image.fromarray(np.ascontiguousarray(rgb))
    return pixels_of(image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0))


def _edge_complexity(small: np.ndarray, product: np.ndarray) -> float:
    """Strong-edge length inside the product relative to the outline of a square of the same area.

    A step edge marks a band 2 px wide (both of its sides), so a plain square or disc scores a ratio
    near 1, which maps to ~0; a chain or a texture has edges all through its area, ratio >> 1 -> 1.
    """
    step = np.zeros(product.shape, dtype=np.int16)
    dx = channel_max(np.abs(np.diff(small, axis=1)))
    dy = channel_max(np.abs(np.diff(small, axis=0)))
    # Each difference marks both pixels it joins, so thin lines count on every side.
    np.maximum(step[:, 1:], dx, out=step[:, 1:])
    np.maximum(step[:, :-1], dx, out=step[:, :-1])
    np.maximum(step[1:], dy, out=step[1:])
    np.maximum(step[:-1], dy, out=step[:-1])
    # The two-pixel difference catches a step that downscaling spread over two pixels.
    np.maximum(step[:, 1:-1], channel_max(np.abs(small[:, 2:] - small[:, :-2])), out=step[:, 1:-1])
    np.maximum(step[1:-1], channel_max(np.abs(small[2:] - small[:-2])), out=step[1:-1])
    strong = step >= _EDGE_STEP
    # One pixel of growth takes in the background side of the product's outline.
    region = product.copy()
    region[1:] |= product[:-1]
    region[:-1] |= product[1:]
    region[:, 1:] |= product[:, :-1]
    region[:, :-1] |= product[:, 1:]
    edge_pixels = float((strong & region).sum())
    area = float(product.sum())
    ratio = edge_pixels / (2.0 * 4.0 * np.sqrt(area))
    return float(np.clip(1.0 - 1.0 / ratio, 0.0, 1.0)) if ratio > 0 else 0.0
