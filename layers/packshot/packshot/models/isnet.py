"""IS-Net (DIS) general use: mean 0.5 and std 1.0."""

from __future__ import annotations

from packshot.models.base import SegmentationModel
from packshot.models.catalog import FAMILIES


class IsNetGeneralUse(SegmentationModel):
    """isnet-general-use (179 MB): finer detail than U^2-Net at 10x the compute."""

    family = FAMILIES["isnet-general-use"]
    mean = (0.5, 0.5, 0.5)
    std = (1.0, 1.0, 1.0)
