"""Cut out, the pure core: the product's alpha, the pixels the cutout file carries, and the gate's verdict."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from packshot.cutout import Cutout, cut_out
from packshot.gate import GateVerdict, judge, measure_gate
from packshot.models.base import SegmentationModel


@dataclass(frozen=True)
class CutoutImage:
    """What the cutout stage stores for the next one: RGBA at full resolution, and how far to trust it."""

    pixels: np.ndarray  # (H, W, 3) uint8: the photo, with the backdrop's colour taken out of edge pixels
    alpha: np.ndarray  # (H, W) uint8
    result: Cutout
    verdict: GateVerdict
    overlay: np.ndarray  # RGBA, the gate's signals where they were found (a reviewer's map), at working size

    @property
    def confidence(self) -> float:
        return self.verdict.confidence


def cut_out_photo(rgb: np.ndarray, model: SegmentationModel) -> CutoutImage:
    """Segment the product; edge pixels lose the backdrop's colour (no grey fringe on white); judge the result."""
    result = cut_out(rgb, model)
    pixels = result.foreground if result.foreground is not None else rgb
    measured = measure_gate(rgb, result.alpha)
    model_signals = asdict(result.signals) if result.signals is not None else {}
    verdict = judge(measured.signals, model_signals)
    return CutoutImage(pixels=pixels, alpha=result.alpha, result=result, verdict=verdict, overlay=measured.overlay)
