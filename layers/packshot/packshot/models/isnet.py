"""IS-Net (DIS) general use: 1024 px input, mean 0.5 and std 1.0."""

from __future__ import annotations

from packshot.models.base import SegmentationModel


class IsNetGeneralUse(SegmentationModel):
    """isnet-general-use (179 MB): finer detail than U^2-Net at 10x the compute."""

    name = "isnet-general-use"
    input_size = 1024
    mean = (0.5, 0.5, 0.5)
    std = (1.0, 1.0, 1.0)
