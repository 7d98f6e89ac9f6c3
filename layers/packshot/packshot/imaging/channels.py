"""Per-pixel minimum and maximum over the colour channels of (..., 3) pixels.

ndarray.min(axis=-1) reduces a 3-long axis per pixel and costs 20-30x two element-wise np.minimum calls: on a
4 MP frame 145 ms against 5 ms (measured), which made every white-background check a stage's largest cost.
The values are identical.
"""

from __future__ import annotations

import numpy as np


def channel_min(pixels: np.ndarray) -> np.ndarray:
    """The smallest of the three channels of each pixel (..., 3) -> (...)."""
    return np.minimum(np.minimum(pixels[..., 0], pixels[..., 1]), pixels[..., 2])


def channel_max(pixels: np.ndarray) -> np.ndarray:
    """The largest of the three channels of each pixel (..., 3) -> (...)."""
    return np.maximum(np.maximum(pixels[..., 0], pixels[..., 1]), pixels[..., 2])
