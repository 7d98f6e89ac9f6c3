"""What finishing reads from the backdrop behind the product, measured by the cutout stage while it has the photo.

The cutout file carries no photo under its transparent pixels (zeros there cost nothing to store, move and
decode), but finishing looked at those pixels twice: the white balance takes the studio white from them
(colour.background_white) and QC's colour check compares the product with their median (qc.backdrop_sample).
The cutout stage takes both measurements on the same pixels finishing would have seen, and the state carries
them (a few numbers) to finishing, which therefore decides exactly as it did when the file carried the photo.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from packshot.imaging.channels import middle_levels
from packshot.imaging.colour import apply_gains, background_white
from packshot.imaging.qc import sample as qc_sample


@dataclass(frozen=True)
class Backdrop:
    """The studio white (None: too little backdrop), and per channel the two middle values of QC's sample."""

    white: tuple[float, float, float] | None
    # np.median of an even count is the mean of its two middle values, of an odd count the middle one (both
    # equal here). Gains are monotone per channel, so the median after gains is the mean of the two after gains.
    middle: tuple[tuple[int, int], tuple[int, int], tuple[int, int]] | None

    def colour_after(self, gains: tuple[float, float, float]) -> np.ndarray | None:
        """The median backdrop colour QC compares the product with, once the white balance's gains are applied."""
        if self.middle is None:
            return None
        pair = np.array(self.middle, dtype=np.uint8).T.reshape(1, 2, 3)  # (1, 2, 3): the two middles as pixels
        gained = apply_gains(pair, gains).astype(np.float64)
        return np.asarray(gained[0].mean(axis=0))

    def to_state(self) -> dict[str, Any]:
        return {"white": list(self.white) if self.white is not None else None,
                "middle": [list(pair) for pair in self.middle] if self.middle is not None else None}

    @classmethod
    def from_state(cls, value: Any) -> Backdrop | None:
        """The Backdrop a state carries, or None when it carries none (then finishing measures the file)."""
        if not isinstance(value, dict) or "white" not in value or "middle" not in value:
            return None
        white, middle = value["white"], value["middle"]
        return cls(
            white=(float(white[0]), float(white[1]), float(white[2])) if white is not None else None,
            middle=tuple((int(low), int(high)) for low, high in middle) if middle is not None else None,  # type: ignore[arg-type]
        )


def measure_backdrop(rgb: np.ndarray, alpha: np.ndarray) -> Backdrop:
    """Both measurements on the pixels the cutout file would have carried (before the backdrop is dropped)."""
    sample, sample_alpha = qc_sample(rgb, alpha)
    middle = middle_levels(sample, sample_alpha == 0)
    return Backdrop(white=background_white(rgb, alpha), middle=middle)  # type: ignore[arg-type]

