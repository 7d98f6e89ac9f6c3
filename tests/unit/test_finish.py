"""Finishing geometry: white composite, bounding box, crop to fill, background check."""

from __future__ import annotations

import numpy as np
import pytest

from packshot.errors import ImageRejectedError
from packshot.imaging.finish import (
    BackgroundCheck,
    bounding_box,
    composite_on_white,
    crop_to_fill,
    fill_ratio,
    touches_border,
    verify_background,
)


def product(height: int = 300, width: int = 400, box: tuple[int, int, int, int] = (100, 50, 200, 250)):
    """A frame with a grey-green product in box (x0, y0, x1, y1) on a brown backdrop."""
    rgb = np.zeros((height, width, 3), dtype=np.uint8)
    rgb[...] = (120, 90, 60)
    alpha = np.zeros((height, width), dtype=np.uint8)
    x0, y0, x1, y1 = box
    rgb[y0:y1, x0:x1] = (40, 160, 90)
    alpha[y0:y1, x0:x1] = 255
    return rgb, alpha


def test_composite_makes_transparent_pixels_exactly_white_and_keeps_opaque_ones() -> None:
    rgb = np.array([[[10, 20, 30], [10, 20, 30], [0, 0, 0]]], dtype=np.uint8)
    alpha = np.array([[0, 255, 128]], dtype=np.uint8)
    out = composite_on_white(rgb, alpha)
    assert out.dtype == np.uint8
    assert out[0, 0].tolist() == [255, 255, 255]
    assert out[0, 1].tolist() == [10, 20, 30]
    assert out[0, 2].tolist() == [127, 127, 127]  # round(255 * 127 / 255)


def test_composite_matches_the_float_blend() -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (64, 64), dtype=np.uint8)
    a = alpha[:, :, None] / 255.0
    expected = np.floor(rgb * a + 255 * (1 - a) + 0.5)
    assert np.abs(composite_on_white(rgb, alpha).astype(int) - expected).max() <= 1


def test_composite_is_the_rounded_blend_for_every_value_and_alpha() -> None:
    levels = np.arange(256, dtype=np.uint8)
    value, alpha = np.meshgrid(levels, levels, indexing="ij")
    rgb = np.repeat(value[:, :, None], 3, axis=2)
    expected = (value.astype(np.int64) * alpha + 255 * (255 - alpha.astype(np.int64)) + 127) // 255
    out = composite_on_white(rgb, np.ascontiguousarray(alpha))
    assert np.array_equal(out, np.repeat(expected[:, :, None], 3, axis=2))


def test_composite_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError):
        composite_on_white(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 3), np.uint8))


def test_bounding_box_is_end_exclusive_and_none_when_empty() -> None:
    _, alpha = product()
    assert bounding_box(alpha) == (100, 50, 200, 250)
    assert bounding_box(np.zeros((5, 5), np.uint8)) is None


def test_bounding_box_ignores_pixels_under_the_threshold() -> None:
    alpha = np.zeros((10, 10), np.uint8)
    alpha[2, 2] = 127
    alpha[5, 6] = 128
    assert bounding_box(alpha) == (6, 5, 7, 6)
    assert bounding_box(alpha, threshold=100) == (2, 2, 7, 6)


def test_fill_ratio_uses_the_longest_side_relative_to_the_frame() -> None:
    _, alpha = product()  # bbox 100 x 200 in 400 x 300
    assert fill_ratio(alpha) == pytest.approx(200 / 300)
    assert fill_ratio(np.zeros((3, 3), np.uint8)) == 0.0


def test_touches_border_only_when_product_reaches_an_edge() -> None:
    _, alpha = product()
    assert not touches_border(alpha)
    for edge in (np.s_[0, 5], np.s_[-1, 5], np.s_[5, 0], np.s_[5, -1]):
        touched = alpha.copy()
        touched[edge] = 255
        assert touches_border(touched)


def test_crop_to_fill_centres_the_product_on_a_square_at_the_target_fill() -> None:
    rgb, alpha = product()
    out_rgb, out_alpha = crop_to_fill(rgb, alpha, fill=0.85)
    side = out_alpha.shape[0]
    assert out_alpha.shape == (side, side) and out_rgb.shape == (side, side, 3)
    assert side == round(200 / 0.85)
    assert fill_ratio(out_alpha) == pytest.approx(0.85, abs=0.005)
    x0, y0, x1, y1 = bounding_box(out_alpha)
    assert abs(x0 - (side - x1)) <= 1 and abs(y0 - (side - y1)) <= 1
    # The product pixels are copied unchanged; everything else is white with alpha 0.
    assert (out_rgb[out_alpha == 255] == (40, 160, 90)).all()
    assert (out_rgb[out_alpha == 0] == 255).all()
    assert int(out_alpha.sum()) == int(alpha.sum())


def test_crop_to_fill_never_cuts_off_a_product_that_fills_the_whole_frame() -> None:
    rgb, alpha = product(box=(0, 0, 400, 300))
    out_rgb, out_alpha = crop_to_fill(rgb, alpha, fill=1.0)
    assert out_alpha.shape == (400, 400)
    assert int(out_alpha.sum()) == int(alpha.sum())


def test_crop_to_fill_keeps_soft_edge_pixels_just_outside_the_box() -> None:
    rgb, alpha = product()
    alpha[50:250, 99] = 60  # a soft fringe under the bbox threshold
    _, out_alpha = crop_to_fill(rgb, alpha)
    assert int((out_alpha == 60).sum()) == 200


def test_crop_to_fill_keeps_native_resolution_under_min_side() -> None:
    rgb, alpha = product()
    out_rgb, _ = crop_to_fill(rgb, alpha, min_side=1000)
    assert out_rgb.shape[0] == round(200 / 0.85)


def test_crop_to_fill_refuses_an_empty_mask_with_a_reason() -> None:
    rgb, _ = product()
    with pytest.raises(ImageRejectedError, match="empty"):
        crop_to_fill(rgb, np.zeros(rgb.shape[:2], np.uint8))


@pytest.mark.parametrize("fill", [0.0, 1.2])
def test_crop_to_fill_rejects_an_impossible_fill(fill: float) -> None:
    rgb, alpha = product()
    with pytest.raises(ValueError):
        crop_to_fill(rgb, alpha, fill=fill)


def test_verify_background_passes_a_white_canvas() -> None:
    rgb, alpha = product()
    out_rgb, out_alpha = crop_to_fill(rgb, alpha)
    check = verify_background(composite_on_white(out_rgb, out_alpha), out_alpha)
    assert check == BackgroundCheck(50, 50, True, int((out_alpha == 0).sum()), 0, True)


def test_verify_background_tolerates_near_white_on_the_perimeter_but_not_grey() -> None:
    rgb = np.full((200, 300, 3), 250, np.uint8)
    assert verify_background(rgb).perimeter_ok
    rgb[...] = 249
    check = verify_background(rgb)
    assert check.perimeter_passed == 0 and not check.perimeter_ok and not check.all_white


def test_verify_background_allows_five_percent_of_samples_to_fail() -> None:
    rgb = np.full((200, 200, 3), 255, np.uint8)
    rgb[:, :6] = 0  # dark band over the left edge hits the samples on that side
    check = verify_background(rgb)
    assert 0 < check.perimeter_samples - check.perimeter_passed
    assert check.perimeter_ok == (check.perimeter_passed >= 48)
    small = np.full((200, 200, 3), 255, np.uint8)
    small[100:104, :6] = 0
    assert verify_background(small).perimeter_ok


def test_verify_background_counts_non_white_background_pixels() -> None:
    rgb = np.full((100, 100, 3), 255, np.uint8)
    alpha = np.zeros((100, 100), np.uint8)
    alpha[40:60, 40:60] = 255
    rgb[40:60, 40:60] = 0
    rgb[10, 10] = (255, 254, 255)
    rgb[90, 20] = (200, 200, 200)
    check = verify_background(rgb, alpha)
    assert check.background_pixels == 10000 - 400
    assert check.non_white_background_pixels == 2
    assert check.perimeter_ok and not check.all_white


def test_verify_background_samples_evenly_spaced_points_inside_the_edge() -> None:
    rgb = np.zeros((120, 180, 3), np.uint8)
    ring = np.ones((120, 180), bool)
    ring[4:-4, 4:-4] = False
    ring[:3] = ring[-3:] = False
    ring[:, :3] = ring[:, -3:] = False
    rgb[ring] = 255  # only the ring 3 px in is white: all samples must land on it
    assert verify_background(rgb).perimeter_passed == 50


def test_composite_blends_a_mostly_solid_frame_exactly_as_pillows_paste_does() -> None:
    # Every value/alpha pair inside a large transparent frame: few soft pixels, so only they are blended (in numpy),
    # while a frame soft almost everywhere (the test above) goes through Pillow's paste; both give the same values.
    from PIL import Image

    levels = np.arange(256, dtype=np.uint8)
    value, alpha_grid = np.meshgrid(levels, levels, indexing="ij")
    rgb = np.full((1024, 1024, 3), 90, np.uint8)
    alpha = np.zeros((1024, 1024), np.uint8)
    rgb[300:556, 400:656] = value[:, :, None]
    alpha[300:556, 400:656] = alpha_grid
    canvas = Image.new("RGB", (1024, 1024), (255, 255, 255))
    canvas.paste(Image.fromarray(rgb), (0, 0), Image.fromarray(alpha))
    assert np.array_equal(composite_on_white(rgb, alpha), np.asarray(canvas))
    # A strided view (a crop of a larger frame) is read correctly too.
    assert np.array_equal(composite_on_white(rgb[200:700, 300:800], alpha[200:700, 300:800]),
                          np.asarray(canvas)[200:700, 300:800])


def test_crop_to_fill_whitens_the_backdrop_of_a_product_touching_the_frame() -> None:
    rgb, alpha = product(box=(0, 0, 400, 120))  # touches the top, left and right edges
    alpha[60:70, 10:20] = 0  # a hole shows the (brown) backdrop
    alpha[0, :5] = 40  # soft edge pixels keep their colour
    out_rgb, out_alpha = crop_to_fill(rgb, alpha, fill=0.85)
    assert out_alpha.shape == (471, 471)  # round(400 / 0.85)
    assert np.all(out_rgb[out_alpha == 0] == 255)  # the frame, the margin and the hole
    assert np.all(out_rgb[out_alpha > 0] == (40, 160, 90))
    assert int(np.count_nonzero(out_alpha == 40)) == 5
    assert int(np.count_nonzero(out_alpha == 0)) == 471 * 471 - 400 * 120 + 100


def _plain_composite(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """composite_on_white's formula on every pixel, no shortcut."""
    a = alpha.astype(np.uint32)[..., None]
    return ((rgb.astype(np.uint32) * a + 255 * (255 - a) + 127) // 255).astype(np.uint8)


def test_composite_crop_and_whitening_in_the_products_box_equal_the_plain_formulas() -> None:
    from packshot.imaging.finish import white_where_transparent

    rng = np.random.default_rng(23)
    for height, width in [(1, 1), (3, 7), (40, 33), (300, 257)]:
        rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        corner = np.zeros((height, width), np.uint8)
        corner[0, 0] = 255  # a one-pixel product touching the frame
        middle = np.zeros((height, width), np.uint8)
        middle[height // 3 : height // 2 + 1, width // 3 : width // 2 + 1] = 200
        middle[height // 2, width // 2] = 255
        for alpha in (np.zeros((height, width), np.uint8), np.full((height, width), 255, np.uint8),
                      rng.integers(0, 256, (height, width), dtype=np.uint8), corner, middle):
            np.testing.assert_array_equal(composite_on_white(rgb, alpha), _plain_composite(rgb, alpha))
            out = np.zeros_like(rgb)
            white_where_transparent(out, rgb, alpha)
            np.testing.assert_array_equal(out, np.where(alpha[..., None] == 0, 255, rgb))
            if alpha.max() >= 128:
                framed_rgb, framed_alpha = crop_to_fill(rgb, alpha)
                # The canvas is white wherever alpha is 0 (what white_behind relies on).
                assert (framed_rgb[framed_alpha == 0] == 255).all()
                np.testing.assert_array_equal(composite_on_white(framed_rgb, framed_alpha, white_behind=True),
                                              _plain_composite(framed_rgb, framed_alpha))


def test_the_background_check_counts_every_non_white_background_pixel_inside_and_outside_the_products_box() -> None:
    from packshot.imaging.channels import channel_min

    rng = np.random.default_rng(25)
    for height, width in [(1, 1), (1, 9), (8, 1), (40, 33)]:
        alpha = np.zeros((height, width), np.uint8)
        alpha[height // 2 : height // 2 + 2, width // 2 : width // 2 + 3] = rng.integers(0, 256, (2, 3)).astype(
            np.uint8)[: height - height // 2, : width - width // 2]
        for rgb in (np.full((height, width, 3), 255, np.uint8),
                    rng.choice(np.array([0, 254, 255], np.uint8), (height, width, 3)),
                    np.repeat(np.where(rng.random((height, width, 1)) < 0.1, 250, 255).astype(np.uint8), 3, axis=2)):
            for mask in (alpha, np.zeros_like(alpha), np.full_like(alpha, 255)):
                check = verify_background(rgb, mask)
                plain = int(np.count_nonzero((mask == 0) & (channel_min(rgb) < 255)))
                assert check.non_white_background_pixels == plain, (height, width)
                assert check.background_pixels == int(np.count_nonzero(mask == 0))
                assert check.all_white == (plain == 0)


def _plain_box(alpha: np.ndarray, threshold: int) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(alpha >= threshold)
    return (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) if len(ys) else None


def test_the_bounding_box_is_the_plain_box_of_the_pixels_over_the_threshold_on_awkward_masks() -> None:
    rng = np.random.default_rng(19)
    masks = [np.zeros((0, 0), np.uint8), np.zeros((3, 0), np.uint8), np.zeros((0, 4), np.uint8),
             np.zeros((1, 1), np.uint8), np.full((1, 1), 255, np.uint8), np.full((7, 5), 255, np.uint8)]
    for height, width in [(1, 9), (8, 1), (37, 53), (64, 3)]:
        one = np.zeros((height, width), np.uint8)
        one[rng.integers(height), rng.integers(width)] = 200  # a 1-pixel product
        edge = np.zeros((height, width), np.uint8)
        edge[-1, :] = 128  # touching the border
        corner = np.zeros((height, width), np.uint8)
        corner[0, 0] = corner[-1, -1] = 1
        masks += [one, edge, corner, rng.integers(0, 256, (height, width)).astype(np.uint8),
                  np.where(rng.random((height, width)) < 0.02, 255, 0).astype(np.uint8)]
    for alpha in masks:
        for threshold in (0, 1, 127, 128, 255):
            assert bounding_box(alpha, threshold) == _plain_box(alpha, threshold), (alpha.shape, threshold)
