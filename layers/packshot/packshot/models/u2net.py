"""The U^2-Net family: ImageNet statistics, sigmoid in the graph; input sizes and files in packshot.models.catalog."""

from __future__ import annotations

from packshot.models.base import SegmentationModel
from packshot.models.catalog import FAMILIES

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class U2NetP(SegmentationModel):
    """U^2-Net-p: the 4.4 MB model that fits a Lambda and is fetchable here."""

    family = FAMILIES["u2netp"]
    mean = IMAGENET_MEAN
    std = IMAGENET_STD


class U2Net(U2NetP):
    """U^2-Net full size (176 MB): same interface as u2netp, better edges."""

    family = FAMILIES["u2net"]


class Silueta(U2NetP):
    """U^2-Net pruned to 44 MB by the silueta project; same interface."""

    family = FAMILIES["silueta"]


class U2NetPFast(U2NetP):
    """u2netp at 224 px in float: about half of 320's compute for the same mask quality; u2netp-int8's source.

    The weights are u2netp's; the file is u2netp.onnx with a symbolic input size (packshot.models.derive),
    and the full-resolution refinement in packshot.cutout draws the edges from the photo, not the mask.
    """

    family = FAMILIES["u2netp-fast"]
    fast_resize = True

    def _check_input_shape(self, shape: list[object]) -> None:
        if any(isinstance(d, int) for d in shape[2:]):
            super()._check_input_shape(shape)  # a fixed-size file: only its own size will do


class U2NetPInt8(U2NetPFast):
    """The project's default: u2netp at 224 px, static int8, 1.5-2.2x faster than u2netp-fast on a CPU.

    The file (1.5 MB) is committed in models/ and pinned by sha256 (packshot.models.catalog); it is made by
    tools/quantize_u2netp.py, which says which layers stay in float and why. Its input size is symbolic, like
    u2netp-fast's, and its masks agree with u2netp-fast's once the full-resolution refinement has run.
    """

    family = FAMILIES["u2netp-int8"]
