"""Mask quality measures for the evaluation: IoU, boundary F, MAE and a halo score, all pure numpy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

# Boundary F is measured with the long side scaled to this many pixels, so a 2 px tolerance means the same
# on a 1000 px and a 4000 px photo.
BOUNDARY_SIDE = 1000
BOUNDARY_TOLERANCE_PX = 2
# The halo band: this many pixels (at the photo's own size) outside the true edge.
HALO_BAND_PX = 6


@dataclass(frozen=True)
class MaskScores:
    """How one predicted alpha compares with the exact mask."""

    iou: float
    boundary_f: float
    mae: float  # mean |alpha - truth| in 0..1 over the whole frame
    halo: float  # mean predicted alpha in 0..1 over a band just outside the true edge (0 = clean)


def score_mask(pred: np.ndarray, truth: np.ndarray) -> MaskScores:
    """Compare two uint8 alpha maps of the same size; an empty truth scores 1 only for an empty prediction."""
    if pred.shape != truth.shape:
        raise ValueError(f"prediction {pred.shape} and truth {truth.shape} differ in size")
    p, t = pred >= 128, truth >= 128
    union = int((p | t).sum())
    iou = float((p & t).sum()) / union if union else 1.0
    mae = float(np.abs(pred.astype(np.float32) - truth.astype(np.float32)).mean() / 255.0)
    return MaskScores(iou=iou, boundary_f=boundary_f(p, t), mae=mae, halo=halo_score(pred, t))


def boundary_f(pred: np.ndarray, truth: np.ndarray, tolerance: int = BOUNDARY_TOLERANCE_PX) -> float:
    """F-measure of boundary pixels matched within `tolerance` px, at a long side of at most BOUNDARY_SIDE."""
    pred_b, truth_b = _boundary(_at_reference(pred)), _boundary(_at_reference(truth))
    n_pred, n_truth = int(pred_b.sum()), int(truth_b.sum())
    if n_pred == 0 and n_truth == 0:
        return 1.0
    if n_pred == 0 or n_truth == 0:
        return 0.0
    precision = float((pred_b & dilate(truth_b, tolerance)).sum()) / n_pred
    recall = float((truth_b & dilate(pred_b, tolerance)).sum()) / n_truth
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def halo_score(pred: np.ndarray, truth: np.ndarray, band: int = HALO_BAND_PX) -> float:
    """Mean alpha (0..1) the prediction keeps in the `band` px just outside the true product: the fringe."""
    ring = dilate(truth, band) & ~truth
    if not ring.any():
        return 0.0
    return float(pred[ring].astype(np.float32).mean() / 255.0)


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation by a (2r+1) square, by shifting (no scipy)."""
    if radius <= 0:
        return mask.copy()
    out = mask.copy()
    for axis in (0, 1):
        grown = out.copy()
        for step in range(1, radius + 1):
            grown[(slice(step, None),) if axis == 0 else (slice(None), slice(step, None))] |= (
                out[(slice(None, -step),) if axis == 0 else (slice(None), slice(None, -step))]
            )
            grown[(slice(None, -step),) if axis == 0 else (slice(None), slice(None, -step))] |= (
                out[(slice(step, None),) if axis == 0 else (slice(None), slice(step, None))]
            )
        out = grown
    return out


def _boundary(mask: np.ndarray) -> np.ndarray:
    padded = np.pad(mask, 1, mode="edge")
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return mask & ~interior


def _at_reference(mask: np.ndarray) -> np.ndarray:
    scale = BOUNDARY_SIDE / max(mask.shape)
    if scale > 0.999:  # only ever shrink: upscaling a small mask would invent boundary detail
        return mask
    size = (max(1, round(mask.shape[1] * scale)), max(1, round(mask.shape[0] * scale)))
    small = Image.fromarray(mask.astype(np.uint8) * 255).resize(size, Image.Resampling.BILINEAR)
    return np.asarray(small) >= 128
