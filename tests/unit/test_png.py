"""The stage files' PNG codec: standard PNGs (Pillow and browsers read them), fast both ways, honest about damage."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from packshot.errors import UndecodableImageError
from packshot.imaging import png
from packshot.imaging.png import decode_png_rgba, encode_png


@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 3, 4), (40, 30, 3), (97, 33, 4)])
def test_pillow_reads_exactly_the_pixels_written(shape: tuple[int, int, int]) -> None:
    pixels = np.random.default_rng(sum(shape)).integers(0, 256, shape, dtype=np.uint8)
    data = png.encode(pixels)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG" and image.mode == ("RGB" if shape[2] == 3 else "RGBA")
        np.testing.assert_array_equal(np.asarray(image), pixels)
    np.testing.assert_array_equal(png.decode(data, max_pixels=10**6), pixels)


def test_a_frame_taller_than_one_band_round_trips(monkeypatch: pytest.MonkeyPatch) -> None:
    # Bands of 7 rows: the Up filter must use the last row of the band before, not zeros.
    monkeypatch.setattr(png, "_BAND_BYTES", 7 * 5 * 4)
    pixels = np.random.default_rng(3).integers(0, 256, (50, 5, 4), dtype=np.uint8)
    np.testing.assert_array_equal(png.decode(png.encode(pixels), max_pixels=10**6), pixels)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png.encode(pixels)))), pixels)


def test_transparent_pixels_without_a_photo_cost_almost_nothing() -> None:
    rng = np.random.default_rng(4)
    rgba = np.zeros((400, 400, 4), np.uint8)
    rgba[150:250, 150:250] = rng.integers(0, 256, (100, 100, 4), dtype=np.uint8)  # a noisy product
    photo_under = rgba.copy()
    photo_under[..., :3] = np.where(rgba[..., 3:] == 0, rng.integers(200, 256, (400, 400, 3)), rgba[..., :3])
    assert len(png.encode(rgba)) < 0.15 * len(png.encode(photo_under))


def test_a_png_from_another_writer_is_read_by_pillow() -> None:
    rgba = np.random.default_rng(5).integers(0, 256, (20, 30, 4), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, "PNG", compress_level=9)  # Pillow picks Sub/Paeth/... per row
    with pytest.raises(png.NotOurPng):
        png.decode(buffer.getvalue(), max_pixels=10**6)
    rgb, alpha = decode_png_rgba(buffer.getvalue())
    np.testing.assert_array_equal(rgb, rgba[..., :3])
    np.testing.assert_array_equal(alpha, rgba[..., 3])


def test_a_palette_png_with_a_transparent_index_keeps_its_transparency() -> None:
    image = Image.new("P", (6, 4), 1)
    image.putpalette([255, 255, 255, 200, 10, 10] + [0] * 762)
    image.paste(0, (0, 0, 3, 4))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", transparency=0)
    rgb, alpha = decode_png_rgba(buffer.getvalue())
    assert alpha[:, :3].max() == 0 and alpha[:, 3:].min() == 255
    assert tuple(rgb[0, 5]) == (200, 10, 10)


def test_an_rgb_png_with_a_colour_key_is_not_read_as_opaque() -> None:
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[:, 2:] = 90
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG", transparency=(0, 0, 0), compress_level=0)
    _, alpha = decode_png_rgba(buffer.getvalue())
    assert alpha[:, :2].max() == 0 and alpha[:, 2:].min() == 255


@pytest.mark.parametrize("damage", ["truncated", "flipped byte", "no end"])
def test_a_damaged_stage_file_is_refused_with_a_reason(damage: str) -> None:
    data = bytearray(encode_png(np.random.default_rng(6).integers(0, 256, (30, 30, 3), dtype=np.uint8)))
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "flipped byte":
        data[60] ^= 0xFF
    else:
        data = data[:-12]  # IEND gone
    with pytest.raises(UndecodableImageError, match="rerun the previous stage"):
        decode_png_rgba(bytes(data))


def test_a_header_promising_more_pixels_than_the_data_holds_is_refused() -> None:
    data = bytearray(png.encode(np.zeros((4, 4, 3), np.uint8)))
    data[16:20] = (4000).to_bytes(4, "big")  # width 4000 in IHDR; fix its CRC so only the size lies
    data[29:33] = png.isal_zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    with pytest.raises(ValueError, match="not the"):
        png.decode(bytes(data), max_pixels=10**8)


def test_only_8_bit_rgb_and_rgba_are_written() -> None:
    with pytest.raises(ValueError):
        png.encode(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError):
        png.encode(np.zeros((4, 4, 3), np.uint16))
    with pytest.raises(ValueError):
        png.encode(np.zeros((0, 4, 3), np.uint8))


def _photo_cutout(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A noisy photo with a product in its middle: alpha 255 inside, a soft edge, 0 outside."""
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    alpha = np.zeros((120, 160), np.uint8)
    alpha[30:90, 40:120] = 255
    alpha[29, 40:120] = alpha[90, 40:120] = 128
    return rgb, alpha


def test_a_stage_file_keeps_every_visible_pixel_exactly_and_no_photo_under_transparent_ones() -> None:
    rgb, alpha = _photo_cutout(7)
    data = encode_png(rgb, alpha)
    back_rgb, back_alpha = decode_png_rgba(data)
    np.testing.assert_array_equal(back_alpha, alpha)
    np.testing.assert_array_equal(back_rgb[alpha > 0], rgb[alpha > 0])
    assert not back_rgb[alpha == 0].any()
    # A browser (here Pillow, as any PNG reader) sees the same file: RGBA, nothing under the transparent pixels.
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG" and image.mode == "RGBA"
        shown = np.asarray(image)
    assert not shown[alpha == 0].any() and (shown[..., 3] == alpha).all()
    # The arrays handed back are the stage's to change.
    assert back_rgb.flags.writeable and back_alpha.flags.writeable and back_rgb.flags.c_contiguous


def test_a_stage_file_is_much_smaller_than_the_same_pixels_with_the_photo_kept_under_the_transparency() -> None:
    rgb, alpha = _photo_cutout(8)
    kept = encode_png(rgb, alpha, keep_hidden=True)
    assert len(encode_png(rgb, alpha)) < 0.5 * len(kept)
    back_rgb, _ = decode_png_rgba(kept)  # keep_hidden (a model cache, not a stage file) is exact everywhere
    np.testing.assert_array_equal(back_rgb, rgb)


def test_interleave_and_split_are_exact_inverses_on_visible_pixels() -> None:
    rng = np.random.default_rng(9)
    rgb = rng.integers(0, 256, (33, 17, 3), dtype=np.uint8)
    alpha = rng.integers(1, 256, (33, 17), dtype=np.uint8)
    rgba = png.interleave(rgb, alpha)
    np.testing.assert_array_equal(rgba, np.dstack((rgb, alpha)))
    back_rgb, back_alpha = png.split(rgba)
    np.testing.assert_array_equal(back_rgb, rgb)
    np.testing.assert_array_equal(back_alpha, alpha)
    # Views (a slice of a bigger array) are read as the pixels they show.
    big = rng.integers(0, 256, (40, 40, 4), dtype=np.uint8)
    np.testing.assert_array_equal(png.interleave(big[5:20, 3:9, :3], big[5:20, 3:9, 3], keep_hidden=True),
                                  big[5:20, 3:9])


def test_an_embedded_icc_profile_is_what_pillow_reads_and_the_fast_reader_skips_it() -> None:
    from packshot.imaging.icc import srgb_profile

    rgb = np.random.default_rng(10).integers(0, 256, (12, 9, 3), dtype=np.uint8)
    data = encode_png(rgb, icc_profile=srgb_profile())
    with Image.open(io.BytesIO(data)) as image:
        assert image.info.get("icc_profile") == srgb_profile()
        np.testing.assert_array_equal(np.asarray(image), rgb)
    np.testing.assert_array_equal(png.decode(data, max_pixels=10**6), rgb)


def _other_formats() -> dict[str, bytes]:
    image = Image.fromarray(np.random.default_rng(11).integers(0, 256, (20, 20, 3), dtype=np.uint8))
    found = {}
    for fmt in ("JPEG", "WEBP", "TIFF", "GIF", "BMP"):
        buffer = io.BytesIO()
        image.save(buffer, fmt)
        found[fmt] = buffer.getvalue()
    found["empty"] = b""
    found["text"] = b"<html>an error page where the file should be</html>"
    return found


@pytest.mark.parametrize("kind", sorted(_other_formats()))
def test_a_stage_file_replaced_by_another_format_is_refused_with_a_reason_not_read(kind: str) -> None:
    with pytest.raises(UndecodableImageError, match="working PNG cannot be read.*rerun the previous stage"):
        decode_png_rgba(_other_formats()[kind])


@pytest.mark.parametrize("keep", [8, 20, 33, 60, 200, -13, -4])
def test_a_stage_file_cut_anywhere_is_refused_with_a_reason(keep: int) -> None:
    rgb, alpha = _photo_cutout(12)
    data = encode_png(rgb, alpha)
    with pytest.raises(UndecodableImageError, match="rerun the previous stage"):
        decode_png_rgba(data[:keep])


def _reference_rgba(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """What a stage file holds, the plain way: RGBA with the colour zeroed where alpha is 0."""
    rgba = np.dstack((rgb, alpha))
    rgba[alpha == 0] = 0
    return rgba


def _awkward_cutouts() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(13)
    found = []
    for height, width in [(1, 1), (1, 9), (9, 1), (17, 23), (64, 31)]:
        rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        found.append((rgb, np.zeros((height, width), np.uint8)))  # empty alpha
        found.append((rgb, np.full((height, width), 255, np.uint8)))  # alpha all 255
        found.append((rgb, rng.integers(0, 256, (height, width), dtype=np.uint8)))  # every level
    edge = np.zeros((17, 23), np.uint8)
    edge[0, 0] = 255  # a one-pixel product in the corner
    found.append((rng.integers(0, 256, (17, 23, 3), dtype=np.uint8), edge))
    return found


@pytest.mark.parametrize("strip_bytes, band_bytes", [(1, 1), (40, 100), (100, 40), (256 << 10, 4 << 20)])
def test_stage_files_built_and_read_a_strip_at_a_time_hold_exactly_the_plain_rgba(
    monkeypatch: pytest.MonkeyPatch, strip_bytes: int, band_bytes: int
) -> None:
    # Strips of one row up to the whole frame, inside bands of other sizes: every boundary must carry the row above.
    monkeypatch.setattr(png, "_STRIP_BYTES", strip_bytes)
    monkeypatch.setattr(png, "_BAND_BYTES", band_bytes)
    for rgb, alpha in _awkward_cutouts():
        expected = _reference_rgba(rgb, alpha)
        np.testing.assert_array_equal(png.interleave(rgb, alpha), expected)
        data = encode_png(rgb, alpha)
        with Image.open(io.BytesIO(data)) as image:
            np.testing.assert_array_equal(np.asarray(image), expected)
        back_rgb, back_alpha = decode_png_rgba(data)
        np.testing.assert_array_equal(back_rgb, expected[..., :3])
        np.testing.assert_array_equal(back_alpha, alpha)
        np.testing.assert_array_equal(decode_png_rgba(encode_png(rgb, alpha, keep_hidden=True))[0], rgb)
        np.testing.assert_array_equal(png.decode(encode_png(rgb), max_pixels=10**6), rgb)
        split_rgb, split_alpha = png.split(expected)
        np.testing.assert_array_equal(split_rgb, expected[..., :3])
        np.testing.assert_array_equal(split_alpha, alpha)


def test_image_data_longer_than_the_header_says_is_refused() -> None:
    data = bytearray(png.encode(np.zeros((4, 4, 3), np.uint8)))
    data[20:24] = (3).to_bytes(4, "big")  # height 3 in IHDR for 4 rows of data; its CRC fixed so only the size lies
    data[29:33] = png.isal_zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    with pytest.raises(ValueError, match="not the"):
        png.decode(bytes(data), max_pixels=10**8)


def test_pixels_packed_in_one_call_are_numpys_view_of_the_image() -> None:
    rng = np.random.default_rng(3)
    for mode, bands in [("L", 1), ("RGB", 3), ("RGBA", 4)]:
        for width, height in [(1, 1), (0, 3), (3, 0), (7, 5), (2401, 3), (3, 4000)]:
            values = rng.integers(0, 256, (height, width, bands), dtype=np.uint8)
            image = Image.fromarray(values[..., 0] if bands == 1 else values, mode) if width and height else \
                Image.new(mode, (width, height))
            plain = np.asarray(image)
            packed = png.pixels_of(image)
            assert packed.shape == plain.shape and packed.dtype == plain.dtype and np.array_equal(packed, plain)
            if mode == "RGBA":
                assert np.array_equal(png.pixels_of(image, "RGB"), plain[..., :3])
                assert np.array_equal(png.pixels_of(image, "A"), plain[..., 3])
    assert np.array_equal(png.pixels_of(Image.new("I;16", (3, 2), 513)), np.asarray(Image.new("I;16", (3, 2), 513)))
    for image, rawmode in ((Image.new("I;16", (3, 2)), "RGB"), (Image.new("L", (3, 2)), "A")):
        with pytest.raises(ValueError):
            png.pixels_of(image, rawmode)
