"""The backdrop behind the product: a quadratic sweep fitted to the pixels the model calls background."""

from __future__ import annotations

import numpy as np

from packshot.imaging.masks import backdrop_grid, quadratic_basis


def fit_backdrop(rgb_small: np.ndarray, sure_background: np.ndarray) -> np.ndarray:
    """Quadratic-in-(x, y) colour per channel fitted to the sure-background pixels: (6, 3) coefficients.

    A studio sweep is a smooth gradient (brighter in the middle, darker at the top); one flat colour would
    call its dark corners "product". Falls back to the border colour when too little background is sure.
    """
    height, width = sure_background.shape
    ys, xs = np.nonzero(sure_background)
    coeffs = np.zeros((6, 3), np.float32)
    if len(ys) < 200:
        coeffs[0] = border_colour(rgb_small)
        return coeffs
    step = max(1, len(ys) // 5000)  # six coefficients: 5000 points fit them to a fraction of a level
    ys, xs = ys[::step], xs[::step]
    basis = quadratic_basis((xs + 0.5) / width, (ys + 0.5) / height)
    # Normal equations in float64: six unknowns on [0, 1] coordinates are well conditioned, and a 6x6 solve
    # does not wake the BLAS thread pool the way lstsq's SVD does (8 ms instead of 0.1 on a busy host).
    basis64 = basis.astype(np.float64)
    colours = rgb_small[ys, xs].astype(np.float64)
    try:
        fitted = np.linalg.solve(basis64.T @ basis64, basis64.T @ colours)
    except np.linalg.LinAlgError:  # the sure pixels lie on one line (a single row or column): rank-deficient
        fitted, *_ = np.linalg.lstsq(basis64, colours, rcond=None)
    return fitted.astype(np.float32)


def backdrop_colour(coeffs: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The fitted backdrop's RGB at normalised positions (u across, v down, both 0..1)."""
    return quadratic_basis(u, v) @ coeffs


def backdrop_image(coeffs: np.ndarray, width: int, height: int) -> np.ndarray:
    """The fitted backdrop as a (height, width, 3) float32 image, sampled at pixel centres."""
    return backdrop_grid(coeffs, (np.arange(width) + 0.5) / width, (np.arange(height) + 0.5) / height)


def backdrop_distance(pixels: np.ndarray, behind: np.ndarray) -> np.ndarray:
    """Euclidean RGB distance of each pixel from the backdrop behind it (same shape, float32), in 0..1 (1 = 255)."""
    diff = pixels.astype(np.float32) - behind
    return np.minimum(np.sqrt(np.einsum("...k,...k->...", diff, diff)) / 255.0, 1.0).astype(np.float32)


def chroma_distance(pixels: np.ndarray, behind: np.ndarray) -> np.ndarray:
    """How far each pixel's colour is from the backdrop's once brightness is set aside, in 0..1.

    The part of (pixel - backdrop) across the backdrop's colour direction: a shadow or a grey product on a
    white sweep scores 0 (it is the backdrop, darker), a coloured product scores its colour difference.
    """
    diff = pixels.astype(np.float32) - behind
    unit = behind / np.maximum(np.sqrt(np.einsum("...k,...k->...", behind, behind)), 1e-3)[..., None]
    along = np.einsum("...k,...k->...", diff, unit)
    across = diff - along[..., None] * unit
    return np.sqrt(np.einsum("...k,...k->...", across, across)) / np.float32(255.0)


def border_colour(rgb: np.ndarray) -> np.ndarray:
    """The backdrop's colour: per-channel median of a strip 2% wide along the image border."""
    height, width = rgb.shape[:2]
    strip = max(2, round(0.02 * min(height, width)))
    border = np.concatenate(
        [
            rgb[:strip].reshape(-1, 3),
            rgb[-strip:].reshape(-1, 3),
            rgb[:, :strip].reshape(-1, 3),
            rgb[:, -strip:].reshape(-1, 3),
        ]
    )
    return np.median(border, axis=0).astype(np.float32)
