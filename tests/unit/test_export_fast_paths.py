"""The export's fast paths give exactly what the straightforward computations give, on awkward inputs."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from packshot.imaging import export
from packshot.imaging.channels import channel_min
from packshot.imaging.finish import composite_on_white


def full_resize(rgb: np.ndarray, alpha: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The reference: Pillow's LANCZOS resize of the whole RGBA canvas (premultiplied inside Pillow)."""
    rgba = Image.fromarray(np.dstack([rgb, alpha])).resize(size, Image.Resampling.LANCZOS)
    return np.asarray(rgba.convert("RGB")), np.asarray(rgba.getchannel("A"))


def canvas(rng: np.random.Generator, height: int, width: int, box: tuple[int, int, int, int],
           kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Random colour everywhere (even under alpha 0, which must not matter) and a product in box = x0, y0, x1, y1."""
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    alpha = np.zeros((height, width), np.uint8)
    x0, y0, x1, y1 = box
    shape = (y1 - y0, x1 - x0)
    if kind == "soft":
        alpha[y0:y1, x0:x1] = rng.integers(0, 256, shape, dtype=np.uint8)
    elif kind == "solid":
        alpha[y0:y1, x0:x1] = 255
    elif kind == "sparse":  # scattered specks, faint ones among them
        alpha[y0:y1, x0:x1] = rng.integers(0, 256, shape, dtype=np.uint8) * (rng.random(shape) < 0.03)
    return rgb, alpha


def assert_resized_like_pillow(rgb: np.ndarray, alpha: np.ndarray, size: tuple[int, int]) -> None:
    want_rgb, want_alpha = full_resize(rgb, alpha, size)
    got_rgb, got_alpha = export._resized(rgb, alpha, size)
    assert got_rgb.shape == want_rgb.shape and got_alpha.shape == want_alpha.shape
    assert np.array_equal(got_alpha, want_alpha), f"alpha differs resizing {alpha.shape} to {size}"
    assert np.array_equal(got_rgb, want_rgb), f"colour differs resizing {alpha.shape} to {size}"


@pytest.mark.parametrize("seed", range(4))
def test_resizing_only_where_the_product_is_matches_pillows_whole_resize(seed: int) -> None:
    rng = np.random.default_rng(seed)
    across_first = 0
    for _ in range(120):
        height, width = (int(v) for v in rng.integers(1, 90, 2))
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        box = (x0, y0, int(rng.integers(x0 + 1, width + 1)), int(rng.integers(y0 + 1, height + 1)))
        size = (int(rng.integers(1, 200)), int(rng.integers(1, 200)))
        rgb, alpha = canvas(rng, height, width, box, str(rng.choice(["soft", "solid", "sparse"])))
        assert_resized_like_pillow(rgb, alpha, size)
        across_first += export._across_first(alpha.shape, size)
    assert across_first > 60  # most cases take the fast path (the rest fall back to the whole resize)


@pytest.mark.parametrize(("shape", "size"), [
    ((200, 200), (2048, 2048)), ((211, 97), (1000, 460)), ((97, 211), (460, 1000)),  # up, odd
    ((400, 400), (57, 57)), ((601, 333), (100, 50)), ((333, 601), (120, 333)),  # down, the window wider
    ((150, 150), (150, 301)), ((150, 150), (301, 150)), ((150, 151), (150, 151)),  # one axis, none
    ((300, 60), (50, 100)), ((83, 37), (251, 61)),  # the height shrinks more than twice the width: Pillow 13
    # resamples down first, and these take the whole resize
])
def test_awkward_products_resize_like_pillow(shape: tuple[int, int], size: tuple[int, int]) -> None:
    rng = np.random.default_rng(7)
    height, width = shape
    boxes = {
        "one pixel": (width // 3, height // 2, width // 3 + 1, height // 2 + 1),
        "touching the left and top": (0, 0, width // 2, height // 3),
        "touching the right and bottom": (width // 2, height // 3, width, height),
        "a full-width band": (0, height // 2, width, height // 2 + 2),
        "everything": (0, 0, width, height),
    }
    for box in boxes.values():
        for kind in ("soft", "solid", "sparse"):
            assert_resized_like_pillow(*canvas(rng, height, width, box, kind), size)
    empty = np.zeros(shape, np.uint8)
    assert_resized_like_pillow(rng.integers(0, 256, (*shape, 3), dtype=np.uint8), empty, size)


@pytest.mark.parametrize("seed", range(3))
def test_resizing_only_the_span_the_product_reaches_matches_pillow_where_the_scale_is_a_binary_fraction(
    seed: int,
) -> None:
    # Sizes whose scale is a binary fraction (a power-of-two target such as Shopify's 2048, or a whole ratio):
    # there each pass computes only the output span the product reaches, through Pillow's box.
    rng = np.random.default_rng(100 + seed)
    spans = cropped = 0
    for _ in range(40):
        height, width = (int(v) for v in rng.integers(1, 400, 2))
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        box = (x0, y0, int(rng.integers(x0 + 1, width + 1)), int(rng.integers(y0 + 1, height + 1)))
        choice = int(rng.integers(0, 3))
        if choice == 0:
            size = (int(2 ** rng.integers(0, 10)), int(2 ** rng.integers(0, 10)))
        elif choice == 1:
            size = (max(1, width // int(rng.integers(1, 5))), max(1, height // int(rng.integers(1, 5))))
        else:
            size = (2048, 2048)
        rgb, alpha = canvas(rng, height, width, box, str(rng.choice(["soft", "solid", "sparse"])))
        assert_resized_like_pillow(rgb, alpha, size)
        x_reach = export._columns_reached(box[0], box[2], width, size[0])
        y_reach = export._columns_reached(box[1], box[3], height, size[1])
        spans += export._exact_span(*x_reach, width, size[0]) is not None
        spans += export._exact_span(*y_reach, height, size[1]) is not None
        for reach, length, out in ((x_reach, width, size[0]), (y_reach, height, size[1])):
            window = export._exact_window(*reach, length, out)
            cropped += window is not None and (window[0] > 0 or window[1] < length)
    assert spans > 40  # most passes here take the span
    assert cropped > 10  # and many read only the input near the product


def test_a_span_is_taken_only_where_pillows_arithmetic_is_exact() -> None:
    assert export._exact_span(100, 900, 2119, 2048) == (100 * 2119 / 2048, 900 * 2119 / 2048)
    assert export._exact_span(0, 3, 300, 100) == (0.0, 9.0)
    assert export._exact_span(100, 900, 1000, 2200) is None  # 5/11: rounded, maybe not as the whole axis's
    assert export._exact_span(10, 20, 1000, 3) is None


def test_a_pass_reads_only_the_input_its_windows_reach_and_gives_pillows_pixels_at_shopify_scale() -> None:
    # A small product on a large canvas, near each edge and in the middle: each pass reads a few hundred input
    # pixels of the 2,131 (the windows' ends and the edges where the whole axis cuts them short are the risk).
    rng = np.random.default_rng(5)
    side = 2131
    for box in [(0, 0, 40, 300), (2000, 1900, side, side), (1000, 40, 1003, 41), (200, 700, 900, 760)]:
        rgb, alpha = canvas(rng, side, side, box, "soft")
        for start, end in ((box[0], box[2]), (box[1], box[3])):
            window = export._exact_window(*export._columns_reached(start, end, side, 2048), side, 2048)
            assert window is not None and window[1] - window[0] < side
        assert_resized_like_pillow(rgb, alpha, (2048, 2048))


@pytest.mark.parametrize("size", [(2048, 2048), (1000, 1000), (77, 131)])
@pytest.mark.parametrize("platform", ["shopify", "print_catalog", "transparent_png"])
def test_a_resized_frame_is_composited_as_resizing_it_whole_then_compositing_it_would(
    platform: str, size: tuple[int, int],
) -> None:
    # The strip's direct paste against the long way round: the resized RGB frame in numpy, then _pixels.
    spec = export.PLATFORMS[platform]
    rng = np.random.default_rng(size[1])
    for height, width, box, kind in [
        (300, 300, (100, 120, 101, 121), "soft"),  # one pixel
        (300, 250, (0, 0, 250, 300), "solid"),  # all 255, touching every edge
        (211, 97, (0, 50, 60, 211), "sparse"),  # faint specks, touching the left and bottom
        (97, 211, (0, 0, 211, 97), "soft"),
        (120, 120, (0, 0, 1, 1), "empty"),  # no product at all
    ]:
        rgb, alpha = canvas(rng, height, width, box, kind)
        sized_rgb, sized_alpha = export._resized(rgb, alpha, size)
        want_image, want_kept = export._pixels(sized_rgb, sized_alpha, spec)
        image, kept, got_alpha = export._sized_pixels(rgb, alpha, size, spec)
        assert image.mode == want_image.mode and image.size == want_image.size
        assert np.array_equal(np.asarray(image), np.asarray(want_image)), (platform, size, box, kind)
        assert np.array_equal(kept, want_kept) and np.array_equal(got_alpha, sized_alpha)


def test_the_fast_path_is_the_one_taken_for_the_shopify_frame() -> None:
    # The common case (a square canvas of about 2000 px to Shopify's 2048) must not fall back to the whole resize.
    assert export._across_first((2119, 2119), (2048, 2048))
    assert export._across_first((1319, 1319), (2048, 2048))
    assert not export._across_first((3000, 1000), (1000, 333))


@pytest.mark.parametrize("block", [1, 8, 16])
def test_the_white_check_by_blocks_agrees_with_the_pixel_by_pixel_check(block: int) -> None:
    rng = np.random.default_rng(block)
    for _ in range(400):
        height, width = (int(v) for v in rng.integers(1, 70, 2))
        alpha = np.zeros((height, width), np.uint8)
        kind = int(rng.integers(0, 4))
        if kind == 1:
            alpha[rng.integers(0, height), rng.integers(0, width)] = rng.integers(1, 256)  # one speck
        elif kind == 2:
            alpha[:] = 255
        elif kind == 3:
            alpha[:] = rng.integers(0, 256, (height, width)) * (rng.random((height, width)) < 0.05)
        pixels = np.full((height, width, 3), 255, np.uint8)
        for _ in range(int(rng.integers(0, 3))):  # a stray off-white value in one channel, near an edge or not
            pixels[rng.integers(0, height), rng.integers(0, width), rng.integers(0, 3)] = rng.integers(0, 255)
        pure = export._pure_background_blocks(alpha, block)
        want = bool(np.any(pure & (channel_min(pixels) < 255)))
        assert export._off_white_background(pixels, export._product_blocks(alpha, block), block) == want


def test_faint_alpha_is_dropped_exactly_as_a_comparison_would() -> None:
    alpha = np.arange(256, dtype=np.uint8).reshape(16, 16)
    kept = export._without_faint(alpha)
    assert kept.dtype == np.uint8
    assert np.array_equal(kept, np.where(alpha <= export._FAINT_ALPHA, 0, alpha))


def test_pillows_paste_through_the_mask_blends_every_value_and_alpha_as_composite_on_white() -> None:
    values, alphas = np.meshgrid(np.arange(256, dtype=np.uint8), np.arange(256, dtype=np.uint8))
    rgb = np.repeat(values[..., None], 3, axis=2)
    image = Image.new("RGB", (256, 256), (255, 255, 255))
    image.paste(Image.fromarray(rgb), (0, 0), Image.fromarray(alphas))
    assert np.array_equal(np.asarray(image), composite_on_white(rgb, alphas))


@pytest.mark.parametrize("platform", ["shopify", "print_catalog", "transparent_png"])
def test_the_image_the_encoder_reads_is_the_frame_composited_on_white_in_the_platforms_colour_space(
    platform: str,
) -> None:
    spec = export.PLATFORMS[platform]
    rng = np.random.default_rng(11)
    for height, width, box in [(90, 70, (10, 20, 50, 80)), (33, 41, (0, 0, 41, 33)), (20, 20, (5, 5, 6, 6))]:
        rgb, alpha = canvas(rng, height, width, box, "soft")
        alpha[0, 0] = 2  # faint: background
        image, kept = export._pixels(rgb, alpha, spec)
        assert np.array_equal(kept, np.where(alpha <= export._FAINT_ALPHA, 0, alpha))
        if spec.background == "transparent":
            want = np.dstack([export._to_colour_space(rgb, spec), alpha])
        else:
            want = export._to_colour_space(composite_on_white(rgb, kept), spec)
        assert np.array_equal(np.asarray(image), want)
