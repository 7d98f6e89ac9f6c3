"""Cut out, the pure core: the product's alpha and the pixels the cutout file carries."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from packshot.cutout import Cutout, cut_out
from packshot.models.base import SegmentationModel


@dataclass(frozen=True)
class CutoutImage:
    """What the cutout stage stores for the next one: RGBA at full resolution, and how far to trust it."""

    pixels: np.ndarray  # (H, W, 3) uint8: the photo, with the backdrop's colour taken out of edge pixels
    alpha: np.ndarray  # (H, W) uint8
    result: Cutout

    @property
    def confidence(self) -> float:
        return float(self.result.confidence)


def cut_out_photo(rgb: np.ndarray, model: SegmentationModel) -> CutoutImage:
    """Segment the product; edge pixels lose the backdrop's colour (no grey fringe on white)."""
    result = cut_out(rgb, model)
    pixels = result.foreground if result.foreground is not None else rgb
    return CutoutImage(pixels=pixels, alpha=result.alpha, result=result)
