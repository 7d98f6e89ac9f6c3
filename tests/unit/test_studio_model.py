"""packshot-studio: its input (a backdrop fitted from the frame alone, two channels on it) and the committed network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from packshot.errors import ModelError
from packshot.models import SegmentationModel, load_model
from packshot.models.fetch import sha256_of
from packshot.models.registry import MODELS, default_path_for
from packshot.models.studio import (
    LUMA_SCALE,
    STUDIO_CHANNELS,
    PackshotStudio,
    fit_frame_backdrop,
    studio_channels,
)

STUDIO_FILENAME, STUDIO_SHA256 = PackshotStudio.filename, PackshotStudio.family.file.sha256


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


# -- the committed network --------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def studio() -> SegmentationModel:
    return load_model("packshot-studio", REPO / "models" / STUDIO_FILENAME, threads=2)  # checks the pinned sha256


@pytest.fixture(scope="module")
def u2netp() -> SegmentationModel:
    from packshot.models.derive import derive

    return load_model("u2netp-fast", derive(REPO / "models"), threads=2)


def test_the_committed_studio_file_is_the_pinned_one_and_the_default_for_its_name(studio: SegmentationModel) -> None:
    assert sha256_of(REPO / "models" / STUDIO_FILENAME) == STUDIO_SHA256
    assert default_path_for("packshot-studio") == REPO / "models" / STUDIO_FILENAME
    assert studio.predict(np.full((300, 400, 3), 200, np.uint8)).mask.shape == (224, 224)


def test_a_tampered_copy_of_the_studio_file_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / STUDIO_FILENAME
    data = bytearray((REPO / "models" / STUDIO_FILENAME).read_bytes())
    data[len(data) // 3] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=STUDIO_SHA256):
        load_model("packshot-studio", copy)


@pytest.mark.parametrize("example", ["red_sneaker.jpg", "white_box_on_white.jpg", "headphones.jpg"])
def test_the_head_only_decides_what_u2netp_left_open(
    studio: SegmentationModel, u2netp: SegmentationModel, example: str
) -> None:
    """Where u2netp is sure (under 0.02 or over 0.98), the studio model says the same: the head is gated."""
    with Image.open(REPO / "examples" / example) as image:
        rgb = np.asarray(image.convert("RGB"))
    ours, prior = studio.predict(rgb), u2netp.predict(rgb)
    # Both masks are min-max normalised; u2netp's raw output is what the gate saw.
    raw = prior.mask * (prior.raw_max - prior.raw_min) + prior.raw_min
    mine = ours.mask * (ours.raw_max - ours.raw_min) + ours.raw_min
    sure_in, sure_out = raw > 0.98, raw < 0.02
    assert sure_in.any() and sure_out.any()
    assert (mine[sure_in] > 0.5).mean() > 0.999 and (mine[sure_out] < 0.5).mean() > 0.999
