"""The stage files' PNG codec: standard PNGs (Pillow and browsers read them), fast both ways, honest about damage."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from packshot.errors import UndecodableImageError
from packshot.imaging import png
from packshot.imaging.decode import decode_png_rgba, encode_png


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
