"""BiRefNet general lite: 1024 px input, ImageNet statistics, logits out (the sigmoid is ours to apply)."""

from __future__ import annotations

from packshot.models.base import SegmentationModel
from packshot.models.u2net import IMAGENET_MEAN, IMAGENET_STD


class BiRefNetGeneralLite(SegmentationModel):
    """birefnet-general-lite (224 MB): best edges of the family, slowest on CPU."""

    name = "birefnet-general-lite"
    input_size = 1024
    mean = IMAGENET_MEAN
    std = IMAGENET_STD
    sigmoid_output = True
