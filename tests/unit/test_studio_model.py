"""packshot-studio's input: the backdrop fitted from the frame alone, and the two studio channels built on it."""

from __future__ import annotations

import numpy as np

from packshot.models.registry import MODELS
from packshot.models.studio import (
    LUMA_SCALE,
    STUDIO_CHANNELS,
    PackshotStudio,
    fit_frame_backdrop,
    studio_channels,
)


def _sweep(height: int = 224, width: int = 224) -> np.ndarray:
    """A lit paper sweep: brighter in the middle, darker towards the top and the corners, slightly warm."""
    v, u = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = (u + 0.5) / width, (v + 0.5) / height
    light = 235.0 + 15.0 * (1.0 - (2 * u - 1) ** 2) - 25.0 * (1.0 - v) ** 2
    return np.stack([light, light - 2.0, light - 6.0], axis=-1)


def test_the_backdrop_is_fitted_behind_a_product_that_fills_the_middle_and_runs_off_the_bottom() -> None:
    photo = _sweep()
    photo[60:224, 70:150] = (40, 90, 200)  # a blue product cut by the frame's bottom edge
    fitted = fit_frame_backdrop(photo.astype(np.uint8))
    error = np.abs(fitted - _sweep())
    assert error.max() < 2.5, "the sweep under the product is where a quadratic through the rest puts it"


def test_a_contact_shadow_is_darker_with_no_hue_and_a_white_panel_is_brighter() -> None:
    photo = _sweep()
    photo[180:200, 40:180] *= 0.8  # a shadow: the backdrop, darker
    photo[80:140, 90:130] = 254.0  # a white panel on the off-white sweep
    channels = studio_channels(np.clip(photo, 0, 255).astype(np.uint8))
    luma, chroma = channels
    assert channels.shape == (2, 224, 224) and channels.dtype == np.float32
    assert luma[185:195, 60:160].mean() < -1.0 and chroma[185:195, 60:160].mean() < 0.1
    assert luma[90:130, 95:125].mean() > 10 / 255 * LUMA_SCALE
    assert abs(float(luma[10:30, 10:30].mean())) < 0.15 and chroma[10:30, 10:30].mean() < 0.1


def test_a_coloured_product_has_hue_a_grey_one_on_white_has_none() -> None:
    photo = np.full((224, 224, 3), 245.0)
    photo[50:100, 50:100] = (200, 60, 60)
    photo[120:170, 120:170] = (120, 120, 120)
    _, chroma = studio_channels(photo.astype(np.uint8))
    assert chroma[60:90, 60:90].mean() > 1.0 and chroma[130:160, 130:160].mean() < 0.05


def test_the_studio_family_feeds_five_channels_at_its_size_with_rgb_prepared_as_u2netp_wants() -> None:
    from packshot.models.u2net import U2NetPFast

    rgb = np.random.default_rng(0).integers(0, 256, (700, 500, 3), dtype=np.uint8)
    tensor = PackshotStudio.preprocess(rgb)
    assert tensor.shape == (1, STUDIO_CHANNELS, 224, 224) and tensor.dtype == np.float32
    assert np.allclose(tensor[:, :3], U2NetPFast.preprocess(rgb), atol=1e-6)
    assert MODELS["packshot-studio"] is PackshotStudio
