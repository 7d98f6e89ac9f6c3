"""packshot-studio: the project's own model, u2netp fine-tuned on studio scenes and fed where the backdrop is.

Besides the photo's RGB (prepared exactly as rembg prepares u2netp's input), the network gets two channels a
studio photo offers and a general saliency model ignores: how much brighter or darker each pixel is than the
backdrop fitted at its place (a white panel on off-white is brighter, a contact shadow darker), and how far its
hue is from the backdrop's (a shadow has none). The backdrop is fitted from the frame alone, before any mask
exists: a quadratic sweep per channel through the border, then through every pixel that agrees with it.
The network, its training data and its recipe are in training/ (README "The studio model").
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from PIL import Image

from packshot.imaging.masks import backdrop_grid, frame_strip, quadratic_basis
from packshot.models.base import SegmentationModel, _check_rgb
from packshot.models.catalog import FAMILIES
from packshot.models.u2net import IMAGENET_MEAN, IMAGENET_STD

# Channels: RGB, then the two studio channels. Their scales put 32 levels of brightness or 1/16 of hue at 1.0,
# about the range u2netp's first layer sees on normalised RGB.
STUDIO_CHANNELS = 5
LUMA_SCALE = 255.0 / 32.0
CHROMA_SCALE = 16.0
# Backdrop fit: the border strip (share of the side) seeds it; pixels within this many levels of the fit
# (max over channels) then join it. Two rounds each are enough for a sweep to settle.
BORDER_SHARE = 0.05
AGREE_LEVELS = 10.0
# The fit runs on a copy about this many pixels on its short side: six unknowns per channel need no more.
FIT_SIDE = 56


def fit_frame_backdrop(image: np.ndarray) -> np.ndarray:
    """The backdrop behind every pixel of a small RGB image (H, W, 3), fitted without any mask, float32.

    A studio sweep is a smooth quadratic in (x, y); the product is what does not fit it. The border strip seeds
    the fit (trimmed of pixels far off it, in case the product runs off the frame), then every pixel within
    AGREE_LEVELS of the fit joins, so the sweep's lit centre is fitted too. The rounds run on a copy about
    FIT_SIDE px (a quadratic needs no more), and the result is drawn at full size from its six coefficients.
    """
    height, width = image.shape[:2]
    factor = max(1, min(height, width) // FIT_SIDE)
    small = np.asarray(Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).reduce(factor), np.float32)
    h, w = small.shape[:2]
    u = (np.arange(w, dtype=np.float32) + 0.5) / w
    v = (np.arange(h, dtype=np.float32) + 0.5) / h
    uu, vv = np.meshgrid(u, v)
    basis = quadratic_basis(uu, vv).reshape(-1, 6).astype(np.float64)
    pixels = small.reshape(-1, 3).astype(np.float64)
    strip = max(1, round(BORDER_SHARE * min(h, w)))
    border: np.ndarray = frame_strip(h, w, strip).reshape(-1)
    chosen = border
    coeffs: np.ndarray = np.zeros((6, 3))
    coeffs[0] = np.median(pixels[border], axis=0)
    for round_ in range(4):
        if chosen.sum() < 12:
            break
        a, b = basis[chosen], pixels[chosen]
        coeffs = np.linalg.solve(a.T @ a + 1e-6 * np.eye(6), a.T @ b)
        off = np.abs(pixels - basis @ coeffs).max(axis=1)
        if round_ < 1:
            # Trim the border of what does not fit (a product cut by the frame, its shadow).
            chosen = border & (off <= max(AGREE_LEVELS, 3.0 * float(np.median(off[border]))))
        else:
            chosen = off <= AGREE_LEVELS
    u = (np.arange(width, dtype=np.float32) + 0.5) / width
    v = (np.arange(height, dtype=np.float32) + 0.5) / height
    return backdrop_grid(coeffs.astype(np.float32), u, v)


def studio_channels(image: np.ndarray) -> np.ndarray:
    """(2, H, W) float32: brightness over the fitted backdrop, and hue distance from it, both scaled."""
    behind = fit_frame_backdrop(image)
    diff = image.astype(np.float32) - behind
    luma = diff.mean(axis=-1)
    unit = behind / np.maximum(np.sqrt(np.einsum("...k,...k->...", behind, behind)), 1e-3)[..., None]
    along = np.einsum("...k,...k->...", diff, unit)
    across_sq = np.maximum(np.einsum("...k,...k->...", diff, diff) - along * along, 0.0)
    out = np.empty((2, *luma.shape), np.float32)
    np.clip(luma * np.float32(LUMA_SCALE / 255.0), -3.0, 3.0, out=out[0])
    np.clip(np.sqrt(across_sq) * np.float32(CHROMA_SCALE / 255.0), 0.0, 3.0, out=out[1])
    return out


def studio_input(resized: np.ndarray) -> np.ndarray:
    """The network's input (1, 5, S, S) from the photo already resized to S x S (uint8 RGB)."""
    scaled = resized / max(float(resized.max()), 1e-6)
    rgb = (scaled - np.asarray(IMAGENET_MEAN)) / np.asarray(IMAGENET_STD)
    return np.concatenate([rgb.transpose(2, 0, 1).astype(np.float32), studio_channels(resized)])[np.newaxis]


class PackshotStudio(SegmentationModel):
    """u2netp fine-tuned on studio scenes with the two backdrop channels (training/; weights in models/)."""

    family = FAMILIES["packshot-studio"]
    mean = IMAGENET_MEAN
    std = IMAGENET_STD
    fast_resize = True
    channels: ClassVar[int] = STUDIO_CHANNELS

    @classmethod
    def resize_input(cls, rgb: np.ndarray) -> np.ndarray:
        """The photo as the network sees it: box-reduced to about twice its size, then LANCZOS to S x S."""
        _check_rgb(rgb)
        image = Image.fromarray(rgb, mode="RGB")
        factor = min(rgb.shape[0], rgb.shape[1]) // (2 * cls.input_size)
        if factor > 1:
            image = image.reduce(factor)
        return np.asarray(image.resize((cls.input_size, cls.input_size), cls.resample))

    @classmethod
    def preprocess(cls, rgb: np.ndarray) -> np.ndarray:
        return studio_input(cls.resize_input(rgb))

    def _check_input_shape(self, shape: list[object]) -> None:
        if len(shape) > 1 and isinstance(shape[1], int) and shape[1] != STUDIO_CHANNELS:
            from packshot.errors import ModelError

            raise ModelError(f"{self.path} takes {shape[1]} input channels; {self.name} feeds {STUDIO_CHANNELS}")
        if any(isinstance(d, int) for d in shape[2:]):
            super()._check_input_shape(shape)
