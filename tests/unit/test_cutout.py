"""The cutout core: refinement steps on small synthetic arrays, then the shipped model on whole photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from packshot.cutout import (
    Band,
    Cutout,
    Signals,
    backdrop_colour,
    backdrop_distance,
    backdrop_image,
    border_colour,
    chroma_distance,
    claim_coloured,
    claim_tinted,
    clear_background_holes,
    confidence,
    cut_out,
    cut_out_files,
    decode_rgb,
    decontaminate,
    edge_support,
    file_pixels,
    fill_enclosed_product,
    fit_backdrop,
    refine_alpha,
    remove_islands,
    write_rgba_png,
)
from packshot.cutout.refinement import _owners, _stretch, _stretched_pixels, _Taps
from packshot.models import SegmentationModel, load_model

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="module")
def shipped() -> SegmentationModel:
    """The model the pipeline ships with (the default of Settings), not its float parent: what users run."""
    from packshot.config import Settings
    from packshot.models.registry import default_path_for

    name = Settings().model_name
    path = default_path_for(name)
    if not Path(path).is_file():
        pytest.fail(f"{path} is missing: run `make setup` (python -m packshot.models.fetch) first")
    return load_model(name, path, threads=2)  # checks the sha256 too


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


# -- refinement on synthetic arrays -----------------------------------------------------------------------


def test_a_small_speck_far_from_the_product_is_removed() -> None:
    mask = np.zeros((100, 100), np.float32)
    mask[30:70, 30:70] = 1.0
    mask[5:7, 90:92] = 0.9
    cleaned = remove_islands(mask)
    assert cleaned[5:7, 90:92].max() == 0.0
    np.testing.assert_array_equal(cleaned[30:70, 30:70], 1.0)


def test_a_small_part_next_to_the_product_and_a_second_item_are_kept() -> None:
    mask = np.zeros((100, 100), np.float32)
    mask[30:70, 10:40] = 1.0
    mask[40:42, 42:44] = 1.0  # a small detached part, right beside the product
    mask[30:70, 70:95] = 1.0  # a second item of the set
    np.testing.assert_array_equal(remove_islands(mask), mask)


def test_the_border_colour_is_the_median_of_the_frame_edge() -> None:
    rgb = np.full((100, 100, 3), (245, 242, 236), np.uint8)
    rgb[40:60, 40:60] = (10, 10, 10)
    rgb[0, :5] = (0, 0, 0)  # a few dust pixels on the border do not move a median
    np.testing.assert_array_equal(border_colour(rgb), [245, 242, 236])


def ring_scene() -> tuple[np.ndarray, np.ndarray]:
    """A dark ring on white and a model mask that (wrongly) fills its hole with alpha 0.6."""
    yy, xx = np.mgrid[0:120, 0:120]
    r = np.hypot(yy - 60, xx - 60)
    rgb = np.full((120, 120, 3), 255, np.uint8)
    rgb[(r < 45) & (r > 25)] = (40, 40, 60)
    soft = np.where(r < 45, 1.0, 0.0).astype(np.float32)
    soft[r < 25] = 0.6
    return rgb, soft


def test_backdrop_seen_through_a_hole_is_made_transparent() -> None:
    rgb, soft = ring_scene()
    alpha = clear_background_holes(rgb, np.ones_like(soft) * (soft > 0), soft, border_colour(rgb))
    assert alpha[60, 60] == 0.0  # the hole
    assert alpha[60, 20] == 1.0  # the ring itself


def test_a_hole_is_judged_against_the_fitted_backdrop_at_its_place_not_the_border_colour() -> None:
    # A lit sweep: 250 in the middle, 210 at the middle of each edge; the ring's hole, in the middle, shows 250.
    yy, xx = np.mgrid[0:120, 0:120]
    r = np.hypot(yy - 60, xx - 60)
    u, v = (xx + 0.5) / 120 - 0.5, (yy + 0.5) / 120 - 0.5
    sweep = np.repeat((250 - 160 * (u * u + v * v))[..., None], 3, axis=2)
    rgb = np.round(sweep).astype(np.uint8)
    rgb[(r < 45) & (r > 25)] = (40, 40, 60)
    soft = np.where(r < 45, 1.0, 0.0).astype(np.float32)
    soft[r < 25] = 0.9  # u2netp at 224 px fills big holes this confidently
    coeffs = fit_backdrop(rgb, soft < 0.02)
    behind = backdrop_image(coeffs, 120, 120)
    assert np.abs(border_colour(rgb) - rgb[60, 60]).max() > 6  # the border's median is no use here
    alpha = clear_background_holes(rgb, np.ones_like(soft) * (soft > 0), soft, behind)
    assert alpha[60, 60] == 0.0 and alpha[60, 20] == 1.0


def test_a_grey_panel_inside_the_product_that_the_model_left_out_is_filled_but_a_hole_is_not() -> None:
    # Distance from the backdrop (1 = 255 levels): a red shoe (0.6) with a grey panel (0.25) and, further
    # right, a hole that shows the backdrop (0.01). The model left both out (soft 0.02).
    distance = np.zeros((60, 120), np.float32)
    soft = np.zeros((60, 120), np.float32)
    distance[10:50, 10:110], soft[10:50, 10:110] = 0.6, 1.0
    distance[20:40, 20:50], soft[20:40, 20:50] = 0.25, 0.02  # the panel
    distance[20:40, 70:100], soft[20:40, 70:100] = 0.01, 0.02  # the hole
    filled = fill_enclosed_product(soft, distance)
    assert filled[30, 35] == 1.0 and filled[30, 85] == 0.02 and filled[5, 5] == 0.0
    # A region that reaches the frame's edge is not enclosed: never filled, whatever its colour.
    soft[25:35, 0:10] = 0.0
    distance[25:35, 0:10] = 0.3
    soft[25:35, 10:20] = 0.02
    distance[25:35, 10:20] = 0.3
    assert fill_enclosed_product(soft, distance)[30, 15] == 0.02


def test_a_cream_surface_the_model_half_saw_is_claimed_but_a_shadow_and_an_edge_are_not() -> None:
    behind = np.full((20, 40, 3), 250.0, np.float32)
    rgb = np.full((20, 40, 3), 250, np.uint8)
    rgb[:, 0:10] = (30, 50, 140)  # the book's cover
    rgb[:, 10:20] = (221, 217, 205)  # its cream page edge
    rgb[:, 20:30] = (205, 205, 205)  # a grey shadow: the backdrop darker, same hue
    soft = np.zeros((20, 40), np.float32)
    soft[:, 0:10], soft[:, 10:30] = 1.0, 0.65
    distance = backdrop_distance(rgb, behind)
    claimed = claim_tinted(rgb, soft, distance, behind)
    assert claimed[10, 15] == 1.0  # inside the cream strip
    assert claimed[10, 25] == pytest.approx(0.65)  # the shadow keeps the model's doubt
    assert claimed[10, 29] == pytest.approx(0.65) and claimed[10, 35] == 0.0  # the edge and the backdrop: unchanged


def test_a_white_product_the_model_is_sure_of_is_not_cleared() -> None:
    rgb = np.full((120, 120, 3), 255, np.uint8)
    rgb[20:100, 20:100] = 250  # white box on white
    soft = np.zeros((120, 120), np.float32)
    soft[20:100, 20:100] = 0.97
    alpha = clear_background_holes(rgb, (soft > 0).astype(np.float32), soft, border_colour(rgb))
    assert alpha[20:100, 20:100].min() == 1.0


def test_a_thin_white_line_of_print_is_not_a_hole() -> None:
    rgb = np.full((120, 120, 3), 255, np.uint8)
    rgb[20:100, 20:100] = (30, 60, 120)
    rgb[58:61, 25:95] = 255  # white lettering, 3 px thick
    soft = np.zeros((120, 120), np.float32)
    soft[20:100, 20:100] = 0.7
    alpha = clear_background_holes(rgb, (soft > 0).astype(np.float32), soft, border_colour(rgb))
    assert alpha[59, 60] == 1.0


def test_confidence_is_zero_when_the_model_output_has_no_range() -> None:
    assert confidence(Signals(raw_range=0.02, band_width=1.5, colour_agreement=0.9, area=0.3)) == 0.0


def test_confidence_is_low_for_a_mask_that_fills_the_frame_or_nothing() -> None:
    assert confidence(Signals(raw_range=1.0, band_width=1.5, colour_agreement=0.9, area=0.99)) == 0.0
    assert confidence(Signals(raw_range=1.0, band_width=1.5, colour_agreement=0.9, area=0.001)) == 0.0


def test_confidence_is_high_for_a_crisp_mask_that_matches_the_colours() -> None:
    assert confidence(Signals(raw_range=0.99, band_width=1.6, colour_agreement=0.85, area=0.25)) == 1.0


def test_confidence_halves_when_the_mask_is_a_wide_blur() -> None:
    assert confidence(Signals(raw_range=0.99, band_width=12.0, colour_agreement=0.85, area=0.25)) == 0.5


# -- files ------------------------------------------------------------------------------------------------


def test_an_rgba_png_round_trips_pixels_and_alpha(tmp_path: Path) -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    alpha = np.tile(np.arange(30, dtype=np.uint8) * 8, (20, 1))
    write_rgba_png(rgb, alpha, tmp_path / "out" / "x.png")
    back = np.asarray(Image.open(tmp_path / "out" / "x.png"))
    assert back.shape == (20, 30, 4)
    np.testing.assert_array_equal(back[..., :3][alpha > 0], rgb[alpha > 0])
    assert not back[..., :3][alpha == 0].any()  # no photo where nothing shows
    np.testing.assert_array_equal(back[..., 3], alpha)
    assert Image.open(tmp_path / "out" / "x.png").mode == "RGBA"


def test_a_cutout_file_carries_the_decontaminated_photo_and_nothing_where_it_is_transparent() -> None:
    rgb = np.random.default_rng(2).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    alpha = np.zeros((20, 30), np.uint8)
    alpha[5:15, 5:25] = 255
    alpha[5:15, 4] = 120
    foreground = rgb.copy()
    foreground[5:15, 4] = (1, 2, 3)
    pixels = file_pixels(rgb, Cutout(alpha=alpha, confidence=1.0, model="m", foreground=foreground))
    assert pixels[alpha == 0].max() == 0
    np.testing.assert_array_equal(pixels[5:15, 4], np.tile([1, 2, 3], (10, 1)))
    np.testing.assert_array_equal(pixels[5:15, 5:25], rgb[5:15, 5:25])
    without = file_pixels(rgb, Cutout(alpha=alpha, confidence=1.0, model="m"))
    np.testing.assert_array_equal(without[alpha > 0], rgb[alpha > 0])


def test_an_alpha_of_another_size_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="alpha must be uint8"):
        write_rgba_png(np.zeros((10, 10, 3), np.uint8), np.zeros((10, 11), np.uint8), tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []


def test_decoding_applies_the_exif_orientation(tmp_path: Path) -> None:
    image = Image.new("RGB", (40, 20), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    image.save(tmp_path / "rotated.jpg", exif=exif)
    assert decode_rgb(tmp_path / "rotated.jpg").shape == (40, 20, 3)


def test_decoding_puts_transparency_on_white(tmp_path: Path) -> None:
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    np.testing.assert_array_equal(decode_rgb(tmp_path / "clear.png"), 255)


# -- with the real model ----------------------------------------------------------------------------------


def test_a_clean_product_on_white_is_cut_out_with_high_confidence(shipped: SegmentationModel) -> None:
    rgb = decode_rgb(EXAMPLES / "box_on_white.jpg")
    truth = np.asarray(Image.open(EXAMPLES / "masks" / "box_on_white.png")) >= 128
    result = cut_out(rgb, shipped)
    assert isinstance(result, Cutout) and result.model == shipped.name
    assert result.alpha.shape == rgb.shape[:2] and result.alpha.dtype == np.uint8
    assert result.confidence > 0.8
    assert iou(result.alpha >= 128, truth) > 0.98


def test_the_hole_in_a_mug_handle_is_transparent(shipped: SegmentationModel) -> None:
    rgb = decode_rgb(EXAMPLES / "mug_with_handle.jpg")
    truth = np.asarray(Image.open(EXAMPLES / "masks" / "mug_with_handle.png")) >= 128
    result = cut_out(rgb, shipped)
    assert result.confidence > 0.8
    assert iou(result.alpha >= 128, truth) > 0.98


def test_uniform_noise_has_no_clear_subject(shipped: SegmentationModel) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (900, 1200, 3), dtype=np.uint8)
    assert cut_out(noise, shipped).confidence < 0.5


def test_an_empty_white_frame_has_no_clear_subject(shipped: SegmentationModel) -> None:
    rng = np.random.default_rng(1)
    empty = np.clip(252 + rng.normal(0, 1.5, (900, 1200, 3)), 0, 255).astype(np.uint8)
    assert cut_out(empty, shipped).confidence < 0.5


def test_a_folder_run_writes_one_png_per_photo_and_reports_the_broken_one(
    shipped: SegmentationModel, tmp_path: Path
) -> None:
    good = tmp_path / "jar.jpg"
    Image.open(EXAMPLES / "small_cream_jar.jpg").save(good)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes((EXAMPLES / "broken.jpg").read_bytes())
    twin = tmp_path / "jar.png"
    Image.open(good).save(twin)
    skipped: list[tuple[Path, str]] = []
    written = cut_out_files(
        [good, broken, twin],
        tmp_path / "out",
        model_name=shipped.name,
        model_path=shipped.path,
        on_skip=lambda path, reason: skipped.append((path, reason)),
    )
    assert written == [tmp_path / "out" / "jar.png"]
    png = Image.open(written[0])
    assert png.mode == "RGBA" and png.size == (800, 600)
    assert [path for path, _ in skipped] == [broken, twin]
    assert "cannot decode" in skipped[0][1] and "same output name" in skipped[1][1]


def test_a_folder_shared_out_over_processes_writes_the_same_files_as_one_process(
    shipped: SegmentationModel, tmp_path: Path
) -> None:
    photos = []
    for name in ("box_on_white", "mug_with_handle"):
        photos.append(tmp_path / f"{name}.jpg")
        Image.open(EXAMPLES / f"{name}.jpg").resize((500, 500)).save(photos[-1])
    skipped: list[tuple[Path, str]] = []
    broken = tmp_path / "broken.jpg"
    broken.write_bytes((EXAMPLES / "broken.jpg").read_bytes())
    one = cut_out_files(photos + [broken], tmp_path / "one", model_name=shipped.name, model_path=shipped.path,
                        workers=1, on_skip=lambda path, reason: skipped.append((path, reason)))
    two = cut_out_files(photos + [broken], tmp_path / "two", model_name=shipped.name, model_path=shipped.path,
                        workers=2, on_skip=lambda path, reason: skipped.append((path, reason)))
    assert [p.name for p in one] == [p.name for p in two] == [f"{p.stem}.png" for p in photos]
    for a, b in zip(one, two, strict=True):
        assert a.read_bytes() == b.read_bytes()
    assert [path for path, _ in skipped] == [broken, broken]


def test_a_missing_model_stops_a_process_pool_before_any_file_is_written(tmp_path: Path) -> None:
    from packshot.errors import ModelError

    photos = [EXAMPLES / "box_on_white.jpg", EXAMPLES / "mug_with_handle.jpg"]
    with pytest.raises(ModelError):
        cut_out_files(photos, tmp_path / "out", model_name="u2netp", model_path=tmp_path / "u2netp.onnx", workers=2)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# -- full-resolution refinement ---------------------------------------------------------------------------


def test_the_backdrop_image_is_the_fitted_quadratic_at_pixel_centres() -> None:
    coeffs = np.random.default_rng(6).uniform(-40, 200, (6, 3)).astype(np.float32)
    image = backdrop_image(coeffs, 7, 5)
    u = (np.arange(7) + 0.5) / 7
    v = (np.arange(5) + 0.5) / 5
    expected = backdrop_colour(coeffs, np.broadcast_to(u[None, :], (5, 7)), np.broadcast_to(v[:, None], (5, 7)))
    assert image.shape == (5, 7, 3)
    assert np.allclose(image, expected, atol=1e-3)


def test_edge_pixels_sample_the_working_maps_bilinearly_at_their_centres() -> None:
    fields = np.random.default_rng(7).random((6, 9, 2)).astype(np.float32)
    ys, xs = np.nonzero(np.ones((20, 27), bool))
    sampled = _Taps.at(ys, xs, (20, 27), (6, 9)).sample(fields.reshape(-1, 2))
    # Pillow's bilinear enlargement samples the same pixel centres, with the edges clamped.
    for channel in range(2):
        image = Image.fromarray(fields[..., channel], mode="F")
        enlarged = np.asarray(image.resize((27, 20), Image.Resampling.BILINEAR))
        assert np.allclose(sampled[:, channel], enlarged[ys, xs], atol=1e-5)


@pytest.mark.parametrize(
    ("full", "small"), [((20, 27), (6, 9)), ((1, 1), (1, 1)), ((13, 1), (2, 1)), ((3, 40), (1, 7))]
)
def test_sampling_each_plane_on_its_own_gives_the_columns_of_sampling_the_rows_to_the_bit(
    full: tuple[int, int], small: tuple[int, int]
) -> None:
    fields = np.random.default_rng(full[1]).random((*small, 6)).astype(np.float32) * 255
    ys, xs = np.nonzero(np.ones(full, bool))
    taps = _Taps.at(ys, xs, full, small)
    together = taps.sample(fields.reshape(-1, 6))
    for channel in range(6):
        plane = np.ascontiguousarray(fields[..., channel]).reshape(-1)
        np.testing.assert_array_equal(taps.sample(plane), together[:, channel])


def test_pixels_listed_from_the_working_size_are_those_the_stretched_mask_covers() -> None:
    small = np.random.default_rng(3).random((7, 11)) < 0.3
    rows, cols = _owners(30, 7), _owners(47, 11)
    stretched = _stretch(small, rows, cols)
    assert stretched.shape == (30, 47)
    ys, xs = _stretched_pixels(small, rows, cols)
    assert sorted(zip(ys.tolist(), xs.tolist(), strict=True)) == sorted(zip(*np.nonzero(stretched), strict=True))


def stretched_pixels_as_first_written(small: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> tuple:
    small_rows, xs = np.nonzero(np.repeat(small, cols, axis=1))
    first_row = np.cumsum(rows) - rows
    counts = rows[small_rows]
    starts = np.cumsum(counts) - counts
    step = np.arange(int(counts.sum())) - np.repeat(starts, counts)
    return np.repeat(first_row[small_rows], counts) + step, np.repeat(xs, counts)


@pytest.mark.parametrize(
    ("small", "full"),
    [
        (np.random.default_rng(4).random((7, 11)) < 0.3, (30, 47)),
        (np.ones((5, 4), bool), (16, 13)),
        (np.zeros((5, 4), bool), (16, 13)),
        (np.ones((1, 1), bool), (3, 5)),
        (np.eye(6, dtype=bool)[:, ::-1], (6, 6)),  # the working copy at full size: one pixel per cell
    ],
)
def test_pixels_listed_from_the_working_size_come_in_the_order_they_were_first_listed(
    small: np.ndarray, full: tuple[int, int]
) -> None:
    rows, cols = _owners(full[0], small.shape[0]), _owners(full[1], small.shape[1])
    ys, xs = _stretched_pixels(small, rows, cols)
    expected_ys, expected_xs = stretched_pixels_as_first_written(small, rows, cols)
    np.testing.assert_array_equal(ys, expected_ys)
    np.testing.assert_array_equal(xs, expected_xs)
    assert ys.dtype == expected_ys.dtype and xs.dtype == expected_xs.dtype


def test_refinement_decides_only_the_band_and_copies_sure_regions() -> None:
    # A hard vertical step in the working mask: left sure product, right sure backdrop, a photo to match.
    rgb = np.full((80, 160, 3), 250, np.uint8)
    rgb[:, :70] = (40, 60, 200)
    soft_small = np.zeros((20, 40), np.float32)
    soft_small[:, :17] = 1.0
    soft_small[:, 17] = 0.6
    small_rgb = np.asarray(Image.fromarray(rgb).reduce(4))
    coeffs = fit_backdrop(small_rgb, soft_small < 0.02)
    distance = backdrop_distance(small_rgb, backdrop_image(coeffs, 40, 20))
    alpha, band = refine_alpha(rgb, soft_small, distance, coeffs, scale=4.0)
    assert (alpha[:, :60] == 255).all() and (alpha[:, 80:] == 0).all()
    assert (alpha[:, 69] >= 250).all() and (alpha[:, 70] <= 5).all()  # the photo's edge, not the mask's
    assert len(band.ys) > 0 and band.xs.min() >= 60 and band.xs.max() < 80


def test_a_shadow_has_no_chroma_distance_but_a_coloured_product_has() -> None:
    behind = np.array([[240.0, 236.0, 230.0]], np.float32)
    shadow = np.round(behind * 0.7).astype(np.uint8)
    red = np.array([[200, 40, 40]], np.uint8)
    assert chroma_distance(shadow, behind)[0] < 0.01
    assert chroma_distance(red, behind)[0] > 0.3


def test_only_coloured_pixels_the_model_half_saw_are_claimed() -> None:
    behind = np.full((1, 4, 3), 245.0, np.float32)
    rgb = np.array([[[30, 90, 200], [30, 90, 200], [150, 150, 150], [245, 245, 245]]], np.uint8)
    soft = np.array([[0.4, 0.01, 0.4, 0.4]], np.float32)
    claimed = claim_coloured(rgb, soft, behind)
    # Blue the model half-saw: product. Blue the model did not see, grey (a shadow's colour) and backdrop: unchanged.
    assert claimed[0].tolist() == pytest.approx([1.0, 0.01, 0.4, 0.4])


def test_the_backdrop_fit_follows_a_studio_gradient() -> None:
    height, width = 60, 80
    rows = np.linspace(200, 250, height, dtype=np.float32)[:, None, None]
    rgb = np.broadcast_to(rows, (height, width, 3)).astype(np.uint8)
    coeffs = fit_backdrop(rgb, np.ones((height, width), bool))
    assert backdrop_distance(rgb, backdrop_image(coeffs, width, height)).max() < 2.0 / 255.0


def test_a_soft_model_edge_becomes_as_crisp_as_the_photo_edge() -> None:
    # Full size 800 px wide with the photo's edge at column 400; the model's mask, at a quarter of that,
    # ramps over 8 of its pixels (32 full-size pixels) around the edge.
    rgb = np.full((120, 800, 3), 250, np.uint8)
    rgb[:, :400] = (40, 60, 160)
    small_rgb = np.asarray(Image.fromarray(rgb).reduce(4))
    ramp = np.clip((100 - (np.arange(200) + 0.5)) / 8 + 0.5, 0, 1).astype(np.float32)
    soft_small = np.broadcast_to(ramp, (30, 200)).copy()
    coeffs = fit_backdrop(small_rgb, soft_small < 0.02)
    distance = backdrop_distance(small_rgb, backdrop_image(coeffs, 200, 30))
    alpha, band = refine_alpha(rgb, soft_small, distance, coeffs, scale=4.0)
    assert (alpha[:, :396] >= 250).all() and (alpha[:, 404:] <= 5).all()
    assert edge_support(band) > 0.9


def test_a_white_product_on_white_keeps_the_model_edge_and_has_no_support() -> None:
    height, width = 120, 200
    rgb = np.full((height, width, 3), 252, np.uint8)
    small = np.clip((90 - (np.arange(width) + 0.5)) / 8 + 0.5, 0, 1).astype(np.float32)
    soft_small = np.broadcast_to(small, (height, width)).copy()
    coeffs = fit_backdrop(rgb, soft_small < 0.02)
    distance = backdrop_distance(rgb, backdrop_image(coeffs, width, height))
    alpha, band = refine_alpha(rgb, soft_small, distance, coeffs, scale=1.0)
    assert (alpha[:, :85] == 255).all() and (alpha[:, 95:] == 0).all()
    assert edge_support(band) < 0.1


def test_a_grey_backdrop_is_taken_out_of_partly_transparent_edge_pixels() -> None:
    backdrop = np.zeros((6, 3), np.float32)
    backdrop[0] = (128, 128, 128)
    rgb = np.full((1, 3, 3), 128, np.uint8)
    rgb[0, 1] = (64, 128, 128)  # half red-ish product (0, 128, 128) over grey
    band = Band(np.array([0]), np.array([1]), np.array([0.5], np.float32), np.array([1.0], np.float32))
    out = decontaminate(rgb, np.zeros((1, 3), np.uint8), band, backdrop)
    assert out is not None and out[0, 1].tolist() == [0, 128, 128]
    assert out[0, 0].tolist() == [128, 128, 128]


def test_a_backdrop_seen_only_along_one_row_still_fits() -> None:
    rgb = np.full((40, 600, 3), 200, np.uint8)
    rgb[39] = (240, 230, 220)
    sure = np.zeros((40, 600), bool)
    sure[39] = True  # 600 pixels of a single row: the normal equations are singular
    coeffs = fit_backdrop(rgb, sure)
    colour = backdrop_colour(coeffs, np.array([0.5]), np.array([39.5 / 40]))
    assert np.allclose(colour, [[240, 230, 220]], atol=1.0)
