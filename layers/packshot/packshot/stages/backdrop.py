"""What finishing reads from the backdrop behind the product, measured by the cutout stage while it has the photo.

The cutout file carries no photo under its transparent pixels (zeros there cost nothing to store, move and
decode), but finishing takes the studio white for its white balance from those pixels
(colour.background_white). The cutout stage measures it on the same pixels finishing would have seen, and the
state carries it (three numbers) to finishing, which therefore decides exactly as it did when the file carried
the photo. (QC no longer looks behind the product: how close the product is to the backdrop's colour is the
auto-approval gate's signal, measured on the master photo in the cutout stage.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from packshot.imaging.colour import background_white


@dataclass(frozen=True)
class Backdrop:
    """The studio white behind the product; None when the cutout left too little backdrop to measure."""

    white: tuple[float, float, float] | None

    def to_state(self) -> dict[str, Any]:
        return {"white": list(self.white) if self.white is not None else None}

    @classmethod
    def from_state(cls, value: Any) -> Backdrop | None:
        """The Backdrop a state carries, or None when it carries none (then finishing measures the file)."""
        if not isinstance(value, dict) or "white" not in value:
            return None
        white = value["white"]
        return cls(white=(float(white[0]), float(white[1]), float(white[2])) if white is not None else None)


def measure_backdrop(rgb: np.ndarray, alpha: np.ndarray) -> Backdrop:
    """The measurement on the pixels the cutout file would have carried (before the backdrop is dropped)."""
    return Backdrop(white=background_white(rgb, alpha))
