"""Cut out, the pure core: the product's alpha, the pixels the cutout file carries, and the gate's verdict."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from packshot.cutout import Cutout, cut_out, file_pixels
from packshot.gate import GateVerdict, judge, measure_gate
from packshot.imaging.masks import photo_image
from packshot.models.base import SegmentationModel
from packshot.stages.backdrop import Backdrop, measure_backdrop


@dataclass(frozen=True)
class CutoutImage:
    """What the cutout stage stores for the next one: RGBA at full resolution, and how far to trust it."""

    # (H, W, 3) uint8: the photo where alpha > 0, the backdrop's colour taken out of edge pixels; 0 where alpha
    # is 0, so the transparent part of the file costs nothing (a 4 MP cutout PNG: 0.75 MB instead of 1.4-9 MB).
    pixels: np.ndarray
    alpha: np.ndarray  # (H, W) uint8
    result: Cutout
    verdict: GateVerdict
    overlay: np.ndarray  # RGBA, the gate's signals where they were found (a reviewer's map), at working size
    # What finishing reads from the backdrop, measured here on the photo (the file no longer carries it).
    backdrop: Backdrop

    @property
    def confidence(self) -> float:
        return self.verdict.confidence


def cut_out_photo(rgb: np.ndarray, model: SegmentationModel) -> CutoutImage:
    """Segment the product and judge the result.

    The file's pixels: edge pixels lose the backdrop's colour (no grey fringe on white), transparent ones carry
    nothing. The gate measures the photo itself (rgb, the master), never those pixels; the backdrop is measured
    on the pixels finishing saw when the file still carried the photo (see stages/backdrop.py).
    """
    image = photo_image(rgb)  # Pillow's copy of the photo, made once for the cutout's and the gate's working copies
    result = cut_out(rgb, model, image=image)
    measured = measure_gate(rgb, result.alpha, image=image)
    del image
    model_signals = asdict(result.signals) if result.signals is not None else {}
    verdict = judge(measured.signals, model_signals)
    backdrop = measure_backdrop(result.foreground if result.foreground is not None else rgb, result.alpha)
    return CutoutImage(pixels=file_pixels(rgb, result), alpha=result.alpha, result=result, verdict=verdict,
                       overlay=measured.overlay, backdrop=backdrop)
