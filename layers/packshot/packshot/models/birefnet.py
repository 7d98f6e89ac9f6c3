"""BiRefNet general lite: ImageNet statistics, logits out (the sigmoid is ours to apply)."""

from __future__ import annotations

from packshot.models.base import SegmentationModel
from packshot.models.catalog import FAMILIES
from packshot.models.u2net import IMAGENET_MEAN, IMAGENET_STD


class BiRefNetGeneralLite(SegmentationModel):
    """birefnet-general-lite (224 MB): best edges of the family, slowest on CPU."""

    family = FAMILIES["birefnet-general-lite"]
    mean = IMAGENET_MEAN
    std = IMAGENET_STD
    sigmoid_output = True
