"""The cutout stage's cheaper paths give exactly the numbers of the plain ones they replace (issue 13's throughput)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from packshot.cutout import Cutout, cut_out, decode_rgb, file_pixels
from packshot.gate import (
    MAX_REGIONS,
    _alpha_at_least,
    _box3,
    _channel_sum,
    _dilate,
    _gaps,
    _in_strip,
    _regions,
    measure_gate,
)
from packshot.imaging.masks import backdrop_grid, box_count, frame_strip, label_components, photo_image
from packshot.models import SegmentationModel, load_model
from packshot.stages.cutout import cut_out_photo

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def row_gaps_as_before(mask: np.ndarray, width: int) -> np.ndarray:
    """The gate's row gaps as first written (int64, the columns found on a transposed view): the reference."""
    columns = np.broadcast_to(np.arange(mask.shape[1]), mask.shape)
    far = mask.shape[1] * 4
    left = np.maximum.accumulate(np.where(mask, columns, -far), axis=1)
    right = np.minimum.accumulate(np.where(mask, columns, far)[:, ::-1], axis=1)[:, ::-1]
    return ~mask & (right - left - 1 <= width)


@pytest.mark.parametrize("seed", range(4))
def test_gaps_along_rows_and_down_columns_are_the_reference_gaps(seed: int) -> None:
    rng = np.random.default_rng(seed)
    mask = rng.random((57, 83)) < (0.2 + 0.2 * seed)  # sparse to dense, with gaps of every width
    mask[:, 40] = False  # a column with no mask and a row with no mask: no gap there, whatever the width
    mask[30] = False
    for width in (0, 3, 12, 200):
        np.testing.assert_array_equal(_gaps(mask, width, axis=1), row_gaps_as_before(mask, width))
        np.testing.assert_array_equal(_gaps(mask, width, axis=0), row_gaps_as_before(mask.T, width).T)


@pytest.mark.parametrize("mask", [np.ones((5, 4), bool), np.zeros((5, 4), bool), np.eye(6, dtype=bool),
                                  np.array([[True, False, True]]), np.array([[False], [True], [False], [True]])])
def test_gaps_of_full_empty_and_one_pixel_masks_are_the_reference_gaps(mask: np.ndarray) -> None:
    for width in (0, 1, 2, 100):
        np.testing.assert_array_equal(_gaps(mask, width, axis=1), row_gaps_as_before(mask, width))
        np.testing.assert_array_equal(_gaps(mask, width, axis=0), row_gaps_as_before(mask.T, width).T)


def regions_by_pixels(mask: np.ndarray, factor: int, origin: tuple[int, int]) -> list[list[int]]:
    """The gate's region boxes as first written (every labelled pixel listed): the reference."""
    labels, count = label_components(mask)
    if count == 0:
        return []
    ys, xs = np.nonzero(labels)
    owner = labels[ys, xs]
    sizes = np.bincount(owner, minlength=count + 1)
    boxes = []
    for label in np.argsort(sizes[1:])[::-1][:MAX_REGIONS] + 1:
        mine = owner == label
        boxes.append([int(xs[mine].min() + origin[0]) * factor, int(ys[mine].min() + origin[1]) * factor,
                      int(xs[mine].max() + origin[0] + 1) * factor, int(ys[mine].max() + origin[1] + 1) * factor])
    return boxes


@pytest.mark.parametrize(
    "mask",
    [
        np.random.default_rng(1).random((61, 47)) < 0.1,  # many small regions, many of one size (ties)
        np.random.default_rng(2).random((40, 40)) < 0.6,
        np.eye(9, dtype=bool) | np.eye(9, dtype=bool)[::-1],  # an X touching all four corners
        np.zeros((6, 5), bool),
        np.ones((6, 5), bool),
        np.ones((1, 1), bool),
        np.array([[True, False, True, False, True, False, True, False, True]]),  # one row, five equal regions
    ],
)
def test_region_boxes_from_runs_are_the_boxes_of_every_labelled_pixel(mask: np.ndarray) -> None:
    for factor, origin in ((1, (0, 0)), (3, (7, 11))):
        assert _regions(mask, factor, origin) == regions_by_pixels(mask, factor, origin)


@pytest.mark.parametrize(
    "mask",
    [
        np.random.default_rng(3).random((70, 90)) < 0.002,  # a few specks
        np.random.default_rng(4).random((33, 21)) < 0.3,
        np.zeros((9, 13), bool),
        np.ones((9, 13), bool),
        np.ones((1, 1), bool),
        np.eye(1, 40, 39, dtype=bool),  # one pixel in the corner of a single row
        np.eye(25, 1, -24, dtype=bool),  # one pixel at the end of a single column
    ],
)
def test_the_pixels_near_a_mask_are_those_whose_window_sum_is_positive(mask: np.ndarray) -> None:
    for radius in (1, 2, 4, 7, 8, 16, 51, 200):  # windows of every length around the powers of two, and beyond
        np.testing.assert_array_equal(_dilate(mask, radius), box_count(mask, radius) > 0)


@pytest.mark.parametrize("shape", [(40, 30), (1, 1), (1, 9), (7, 1)])
def test_the_gates_3x3_mean_of_uint8_pixels_is_the_float32_mean_it_replaced(shape: tuple[int, int]) -> None:
    rgb = np.random.default_rng(shape[0]).integers(0, 256, (*shape, 3), dtype=np.uint8)
    rgb[0, 0] = 255  # the largest sum, and some of the smallest
    rgb[-1, -1] = 0
    padded = np.pad(rgb.astype(np.float32), ((1, 1), (1, 1), (0, 0)), mode="edge")
    rows = padded[:-2] + padded[1:-1] + padded[2:]
    reference = (rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]) / np.float32(9.0)
    smooth = _box3(rgb)
    assert smooth.dtype == np.float32
    np.testing.assert_array_equal(smooth, reference)
    np.testing.assert_array_equal(_box3(np.full((5, 6, 3), 255, np.uint8)), np.full((5, 6, 3), 255, np.float32))


@pytest.mark.parametrize(("inside", "outside"), [(0.5, 0.02), (0.0, 1.0), (1.0, 0.0), (1.5, -0.5), (0.2, 0.7)])
def test_alpha_thresholds_on_the_levels_are_the_float32_comparisons_they_replace(inside: float, outside: float) -> None:
    alpha = np.arange(256, dtype=np.uint8).reshape(16, 16)
    scaled = alpha.astype(np.float32) / 255.0
    at_least, under = _alpha_at_least(alpha, inside, outside)
    np.testing.assert_array_equal(at_least, scaled >= inside)
    np.testing.assert_array_equal(under, scaled < outside)


@pytest.mark.parametrize(("shape", "px"), [((40, 30), 2), ((40, 30), 14), ((40, 30), 25), ((1, 9), 2), ((3, 3), 1)])
def test_points_in_the_border_strip_are_those_frame_strip_marks(shape: tuple[int, int], px: int) -> None:
    ys, xs = np.divmod(np.arange(shape[0] * shape[1]), shape[1])
    np.testing.assert_array_equal(_in_strip(ys, xs, shape, px), frame_strip(*shape, px)[ys, xs])


def test_the_channel_sum_is_numpys_reduction_over_the_channels() -> None:
    rng = np.random.default_rng(0)
    pixels = (rng.random((300, 200, 3)) * 765.0).astype(np.float32)
    pixels[0, :3] = [[1e-8, 255.0, 3e7], [0.1, 0.2, 0.3], [254.99997, 0.00001, 1.0]]  # rounding-sensitive sums
    np.testing.assert_array_equal(_channel_sum(pixels), pixels.sum(axis=2))
    np.testing.assert_array_equal(_channel_sum(pixels) / np.float32(3.0), pixels.mean(axis=2))


@pytest.mark.parametrize(("width", "height"), [(900, 1000), (1, 7), (5, 1)])
def test_the_backdrop_grid_is_the_broadcast_sum_of_its_terms_to_the_bit(width: int, height: int) -> None:
    rng = np.random.default_rng(width)
    coeffs = rng.normal(0, 40, (6, 3)).astype(np.float32)
    coeffs[0] += np.float32(225.0)  # a light sweep: its constant term near white
    u = ((np.arange(width) + 0.5) / width).astype(np.float32)
    v = ((np.arange(height) + 0.5) / height).astype(np.float32)
    across = coeffs[0] + u[:, None] * coeffs[1] + (u * u)[:, None] * coeffs[3]
    down = v[:, None] * coeffs[2] + (v * v)[:, None] * coeffs[4]
    reference = down[:, None, :] + across[None, :, :]
    reference += v[:, None, None] * (u[:, None] * coeffs[5])[None, :, :]
    np.testing.assert_array_equal(backdrop_grid(coeffs, u, v), reference)


def test_the_cutout_file_keeps_exactly_the_pixels_with_any_alpha() -> None:
    rng = np.random.default_rng(1)
    photo = rng.integers(0, 256, (61, 47, 3), dtype=np.uint8)
    alpha = (rng.integers(0, 3, (61, 47)) * 127).astype(np.uint8)  # 0, 127 and 254
    result = Cutout(alpha=alpha, confidence=1.0, model="test", foreground=photo[::-1].copy())
    np.testing.assert_array_equal(file_pixels(photo, result), photo[::-1] * (alpha != 0)[..., None])
    without_foreground = Cutout(alpha=alpha, confidence=1.0, model="test")
    np.testing.assert_array_equal(file_pixels(photo, without_foreground), photo * (alpha != 0)[..., None])


def awkward_alpha(case: str, shape: tuple[int, int]) -> np.ndarray:
    alpha = np.zeros(shape, np.uint8)
    if case == "full":
        alpha[:] = 255
    elif case == "one pixel":
        alpha[shape[0] // 2, shape[1] // 3] = 7
    elif case == "touching the border":
        alpha[: shape[0] // 2, shape[1] // 2 :] = 255
        alpha[-1, 0] = 1
    elif case == "scattered":
        alpha = np.random.default_rng(1).integers(0, 256, shape).astype(np.uint8) * (
            np.random.default_rng(2).random(shape) < 0.05
        )
    return alpha


@pytest.mark.parametrize("case", ["empty", "full", "one pixel", "touching the border", "scattered"])
@pytest.mark.parametrize("shape", [(37, 53), (1, 1), (1, 8), (9, 1)])
def test_the_cutout_file_is_the_photo_times_any_alpha_for_awkward_masks(case: str, shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(shape[1])
    photo = rng.integers(1, 256, (*shape, 3), dtype=np.uint8)
    foreground = rng.integers(1, 256, (*shape, 3), dtype=np.uint8)
    alpha = awkward_alpha(case, shape)
    for result in (Cutout(alpha=alpha, confidence=1.0, model="m", foreground=foreground),
                   Cutout(alpha=alpha, confidence=1.0, model="m")):
        source = foreground if result.foreground is not None else photo
        pixels = file_pixels(photo, result)
        assert pixels.dtype == np.uint8 and pixels.shape == photo.shape
        np.testing.assert_array_equal(pixels, source * (alpha != 0)[..., None])


def test_a_pillow_image_of_another_photo_shape_or_mode_is_refused() -> None:
    photo = np.zeros((30, 40, 3), np.uint8)
    with pytest.raises(ValueError, match="size|RGB"):
        photo_image(photo, Image.new("RGB", (30, 40)))  # transposed
    with pytest.raises(ValueError, match="RGB"):
        photo_image(photo, Image.new("L", (40, 30)))
    with pytest.raises(ValueError, match="RGB"):
        measure_gate(photo, np.zeros((30, 40), np.uint8), image=Image.new("RGBA", (40, 30)))


def test_the_gate_measures_the_same_from_the_callers_image_as_from_the_photo() -> None:
    # 2100 px wide: the gate works on a copy reduced by 3, so the image is really used.
    rng = np.random.default_rng(2)
    photo = np.clip(rng.normal(235, 2, (1500, 2100, 3)), 0, 255).astype(np.uint8)
    alpha = np.zeros((1500, 2100), np.uint8)
    alpha[400:1100, 600:1500] = 255
    photo[400:1100, 600:1500] = (180, 40, 40)
    photo[700:800, 900:1000] = 236  # a hole the cutout keeps: backdrop inside, so there are regions to compare
    plain = measure_gate(photo, alpha)
    shared = measure_gate(photo, alpha, image=Image.fromarray(photo))
    assert plain.signals == shared.signals and plain.signals.regions
    np.testing.assert_array_equal(plain.overlay, shared.overlay)


@pytest.fixture(scope="module")
def shipped() -> SegmentationModel:
    from packshot.config import Settings
    from packshot.models.registry import default_path_for

    name = Settings().model_name
    return load_model(name, default_path_for(name), threads=1)


def test_the_cutout_stage_gives_what_the_cutout_and_the_gate_give_on_their_own(shipped: SegmentationModel) -> None:
    rgb = decode_rgb(EXAMPLES / "mug_with_handle.jpg")
    stage = cut_out_photo(rgb, shipped)
    alone = cut_out(rgb, shipped)
    gate = measure_gate(rgb, alone.alpha)
    np.testing.assert_array_equal(stage.alpha, alone.alpha)
    assert alone.foreground is not None and stage.result.foreground is not None
    np.testing.assert_array_equal(stage.result.foreground, alone.foreground)
    assert stage.result.signals == alone.signals and stage.result.confidence == alone.confidence
    assert stage.verdict.signals == gate.signals
    np.testing.assert_array_equal(stage.overlay, gate.overlay)
    np.testing.assert_array_equal(stage.pixels, alone.foreground * (alone.alpha != 0)[..., None])


def test_the_cutout_refuses_another_photos_image_even_when_it_needs_no_reduction(
    shipped: SegmentationModel,
) -> None:
    photo = np.full((40, 30, 3), 250, np.uint8)
    with pytest.raises(ValueError, match="RGB"):
        cut_out(photo, shipped, image=Image.new("RGB", (40, 30)))


def test_the_stage_writes_the_bytes_the_plain_encodes_of_the_file_pixels_and_the_overlay_give(
    shipped: SegmentationModel,
) -> None:
    from packshot import pipeline
    from packshot.config import Settings
    from packshot.imaging.png import encode_png
    from packshot.stages import cutout as cutout_stage
    from tests.fakes import FakeRecords, FakeStore

    settings = Settings(work_bucket="work", export_bucket="export", records_table="t")
    store, records = FakeStore(), FakeRecords()
    state: pipeline.PipelineState = {"image_id": "img-1", "master_key": "work/img-1/master.png"}  # type: ignore[typeddict-item]
    rgb = decode_rgb(EXAMPLES / "red_sneaker.jpg")
    store.objects["work", state["master_key"]] = encode_png(rgb)
    done = cutout_stage.run(state, store, records, settings, shipped)
    expected = cut_out_photo(rgb, shipped)
    assert store.objects["work", done["cutout_key"]] == encode_png(expected.pixels, expected.alpha)
    overlay = expected.overlay
    assert overlay[..., 3].any()  # the gate found something to show, so the overlay's colours are compared too
    assert store.objects["work", done["gate"]["overlay_key"]] == encode_png(overlay[..., :3], overlay[..., 3])


def test_every_overlay_colour_shows_so_the_overlay_has_no_colour_under_transparent_pixels() -> None:
    from packshot.gate import OVERLAY_COLOURS

    # The stage writes the RGBA overlay as it is (imaging.png.encode), which equals encode_png's file only
    # while colour is 0 wherever alpha is 0: a colour painted with alpha 0 would break that.
    assert all(colour[3] > 0 for colour in OVERLAY_COLOURS.values())


def shadow_like_as_before(rgb: np.ndarray, behind: np.ndarray, tolerance: float) -> np.ndarray:
    """The gate's shadow test as first written (chroma over every pixel of the box): the reference."""
    from packshot.gate import SHADOW_CHROMA, SHADOW_MIN_RATIO

    total, behind_total = rgb.sum(axis=-1), behind.sum(axis=-1)
    bright = behind_total + np.float32(1e-3)
    ratio = total / bright
    chroma = np.zeros(total.shape, np.float32)
    for k in range(3):
        channel = rgb[..., k] - behind[..., k] * ratio
        chroma += channel * channel
    darker = total < bright - np.float32(3.0 * tolerance)
    return darker & (ratio >= SHADOW_MIN_RATIO) & (chroma <= max(SHADOW_CHROMA, tolerance) ** 2)


@pytest.mark.parametrize("shape", [(40, 30), (1, 1), (1, 9), (7, 1)])
@pytest.mark.parametrize("tolerance", [6.0, 11.5])
def test_the_gates_shadow_test_on_the_darker_pixels_alone_is_the_test_over_the_whole_box(
    shape: tuple[int, int], tolerance: float
) -> None:
    from packshot.gate import _shadow_like

    rng = np.random.default_rng(shape[0] * 10 + shape[1])
    behind = (rng.random((*shape, 3)) * 60 + 190).astype(np.float32)  # an off-white sweep
    # Shadows (the backdrop darker, tinted a little or a lot), the backdrop itself, and pixels brighter than it.
    rgb = (behind * rng.choice([0.3, 0.5, 0.8, 0.97, 1.0, 1.05], shape)[..., None]
           + rng.normal(0, 6, (*shape, 3))).astype(np.float32)
    expected = shadow_like_as_before(rgb, behind, tolerance)
    found = _shadow_like(rgb, behind, tolerance, _channel_sum(rgb), _channel_sum(behind))
    np.testing.assert_array_equal(found, expected)
    if shape == (40, 30):
        assert expected.any() and not expected.all()  # both answers occur, so the comparison means something


@pytest.mark.parametrize("shape", [(7, 5), (1, 1), (1, 9), (9, 1)])
def test_decontaminating_band_pixels_gathered_as_rows_gives_the_per_pixel_answer(shape: tuple[int, int]) -> None:
    from packshot.cutout.refinement import Band, decontaminate

    rng = np.random.default_rng(shape[0] * 3 + shape[1])
    rgb = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    height, width = shape
    # Every pixel in the band, corners included, with alphas inside and outside the partial range.
    ys, xs = np.divmod(np.arange(height * width), width)
    alpha = rng.choice([0.02, 0.3, 0.5, 0.9, 0.97], height * width).astype(np.float32)
    alpha[0] = alpha[-1] = 0.4  # the first and the last pixel of the frame are partial
    behind = rng.uniform(200, 255, (height * width, 3)).astype(np.float32)
    band = Band(ys, xs, alpha, np.ones_like(alpha), behind)
    out = decontaminate(rgb, np.zeros(shape, np.uint8), band, np.zeros((6, 3), np.float32))
    assert out is not None
    expected = rgb.copy()
    for y, x, a, b in zip(ys, xs, alpha, behind, strict=True):
        if 0.05 < a < 0.95:
            expected[y, x] = np.clip(np.round(b + (rgb[y, x].astype(np.float32) - b) / a), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(out, expected)
