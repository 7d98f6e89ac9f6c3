"""Decoding uploads: formats, colour, orientation, and every way an upload is refused."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms

from packshot.errors import (
    ImageRejectedError,
    ImageTooLargeError,
    ImageTooSmallError,
    UndecodableImageError,
    UnsupportedImageError,
)
from packshot.imaging.decode import DecodedImage, block_means, decode_image
from packshot.imaging.png import decode_png_rgba, encode_png

W, H = 1200, 1000


def save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def raw_png(width: int, height: int, bit_depth: int, colour_type: int, rows: bytes | None) -> bytes:
    """A PNG written by hand, so tests can make 48-bit colour or a header that lies about its size."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    idat = png_chunk(b"IDAT", zlib.compress(rows)) if rows is not None else b""
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + idat + png_chunk(b"IEND", b"")


# --- hand-made ICC profiles: the machines have none on disk, and these make the conversion visible.


def _s15(value: float) -> bytes:
    return struct.pack(">i", int(round(value * 65536)))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + b"\0" * 4 + _s15(x) + _s15(y) + _s15(z)


def _desc(text: str) -> bytes:
    ascii_ = text.encode("ascii") + b"\0"
    return b"desc" + b"\0" * 4 + struct.pack(">I", len(ascii_)) + ascii_ + b"\0" * 8 + b"\0" * 3 + b"\0" * 67


def _icc(device_class: bytes, space: bytes, pcs: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data
    header = struct.pack(">I", offset + len(body)) + b"\0" * 4 + struct.pack(">I", 0x02100000)
    header += device_class + space + pcs + b"\0" * 12 + b"acsp" + b"\0" * 28
    header += _s15(0.9642) + _s15(1.0) + _s15(0.8249)
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + body


# sRGB primaries adapted to D50, as an ICC matrix profile stores them.
_RED, _GREEN, _BLUE = (0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)


def swapped_rgb_profile() -> bytes:
    """An RGB profile whose red primary is sRGB's green and vice versa: (255, 0, 0) means green."""
    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, int(2.2 * 256)) + b"\0\0"
    return _icc(
        b"mntr",
        b"RGB ",
        b"XYZ ",
        [
            (b"desc", _desc("Swapped Red Green")),
            (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
            (b"rXYZ", _xyz(*_GREEN)),
            (b"gXYZ", _xyz(*_RED)),
            (b"bXYZ", _xyz(*_BLUE)),
            (b"rTRC", curve),
            (b"gTRC", curve),
            (b"bTRC", curve),
        ],
    )


def swapped_cmyk_profile() -> bytes:
    """A CMYK profile (lut16, Lab PCS) that prints like the naive formula with red and green swapped."""
    corners = []
    for c in (0, 1):
        for m in (0, 1):
            for y in (0, 1):
                for k in (0, 1):
                    r, g, b = (255 * (1 - c) * (1 - k), 255 * (1 - m) * (1 - k), 255 * (1 - y) * (1 - k))
                    corners.append((g, r, b))
    to_lab = ImageCms.buildTransform(ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"), "RGB", "LAB")
    lab = np.array(ImageCms.applyTransform(Image.fromarray(np.array([corners], dtype=np.uint8)), to_lab))[0]
    lightness = np.round(lab[:, 0] / 255 * 0xFF00).astype(int)
    ab = (np.ascontiguousarray(lab[:, 1:]).view(np.int8).astype(int) + 128) * 256  # Pillow stores a, b signed
    clut = b"".join(struct.pack(">HHH", lightness[i], ab[i, 0], ab[i, 1]) for i in range(16))
    identity = b"".join(_s15(1.0 if i in (0, 4, 8) else 0.0) for i in range(9))
    lut = b"mft2" + b"\0" * 4 + struct.pack(">BBBB", 4, 3, 2, 0) + identity + struct.pack(">HH", 2, 2)
    lut += struct.pack(">HH", 0, 65535) * 4 + clut + struct.pack(">HH", 0, 65535) * 3
    tags = [(b"desc", _desc("Test CMYK")), (b"wtpt", _xyz(0.9642, 1.0, 0.8249)), (b"A2B0", lut)]
    return _icc(b"prtr", b"CMYK", b"Lab ", tags)


# --- formats


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF", "WEBP"])
def test_decodes_each_supported_format_to_rgb_uint8(fmt: str) -> None:
    image = Image.new("RGB", (W, H), (200, 40, 40))
    decoded = decode_image(save(image, fmt, **({"quality": 95} if fmt in ("JPEG", "WEBP") else {})))
    assert isinstance(decoded, DecodedImage)
    assert decoded.format == fmt
    assert decoded.pixels.shape == (H, W, 3)
    assert decoded.pixels.dtype == np.uint8
    assert (decoded.width, decoded.height) == (W, H)
    assert np.abs(decoded.pixels[500, 600].astype(int) - (200, 40, 40)).max() <= 4
    assert decoded.pixels.flags.c_contiguous


def test_reports_upright_orientation_and_no_profile_for_a_plain_png() -> None:
    decoded = decode_image(save(Image.new("RGB", (W, H)), "PNG"))
    assert decoded.exif_orientation == 1
    assert decoded.icc_profile is None
    assert decoded.source_mode == "RGB"


# --- rejections


def test_rejects_a_zero_byte_file() -> None:
    with pytest.raises(UndecodableImageError, match="empty"):
        decode_image(b"")


def test_rejects_a_pdf_named_jpg_saying_it_is_a_pdf() -> None:
    with pytest.raises(UnsupportedImageError, match="PDF"):
        decode_image(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")


def test_rejects_random_bytes_as_undecodable() -> None:
    with pytest.raises(UndecodableImageError):
        decode_image(bytes(range(256)) * 4)


def test_rejects_a_gif_naming_the_format_found() -> None:
    with pytest.raises(UnsupportedImageError, match="GIF"):
        decode_image(save(Image.new("P", (W, H)), "GIF"))


def test_rejects_a_multi_page_tiff() -> None:
    pages = [Image.new("RGB", (W, H), colour) for colour in ("red", "blue")]
    buffer = io.BytesIO()
    pages[0].save(buffer, format="TIFF", save_all=True, append_images=pages[1:])
    with pytest.raises(UnsupportedImageError, match="2 pages"):
        decode_image(buffer.getvalue())


def test_rejects_an_animated_webp() -> None:
    frames = [Image.new("RGB", (W, H), colour) for colour in ("red", "blue", "green")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="WEBP", save_all=True, append_images=frames[1:])
    with pytest.raises(UnsupportedImageError, match="3 frames"):
        decode_image(buffer.getvalue())


def test_rejects_a_truncated_jpeg_as_undecodable() -> None:
    rng = np.random.default_rng(0)
    data = save(Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)), "JPEG")
    with pytest.raises(UndecodableImageError, match="JPEG file is cut short"):
        decode_image(data[: len(data) // 2])


def test_rejects_a_truncated_png_as_undecodable() -> None:
    rng = np.random.default_rng(1)
    data = save(Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)), "PNG")
    with pytest.raises(UndecodableImageError):
        decode_image(data[: len(data) // 2])


def test_rejects_a_999_px_image_as_too_small() -> None:
    with pytest.raises(ImageTooSmallError, match="longest side 999 px is under the 1000 px minimum"):
        decode_image(save(Image.new("RGB", (999, 600)), "PNG"))


def test_accepts_exactly_the_minimum_side_and_honours_a_custom_minimum() -> None:
    data = save(Image.new("RGB", (1000, 400)), "PNG")
    assert decode_image(data).width == 1000
    with pytest.raises(ImageTooSmallError, match="1500 px minimum"):
        decode_image(data, min_side=1500)


def test_rejects_a_header_over_max_pixels_without_decoding_the_pixels() -> None:
    # The file has no pixel data at all: decoding it would raise UndecodableImageError, so getting
    # ImageTooLargeError proves the size was judged from the header alone.
    data = raw_png(12_000, 9_000, 1, 0, rows=None)
    assert len(data) < 100
    with pytest.raises(ImageTooLargeError, match="12000x9000"):
        decode_image(data)


def test_turns_pillows_own_bomb_guard_into_image_too_large() -> None:
    # 30000 x 30000 = 900 MP is over twice Pillow's MAX_IMAGE_PIXELS, so Pillow refuses it in open().
    with pytest.raises(ImageTooLargeError):
        decode_image(raw_png(30_000, 30_000, 1, 0, rows=None))


def test_honours_a_smaller_max_pixels() -> None:
    data = save(Image.new("L", (1200, 1200)), "PNG")
    with pytest.raises(ImageTooLargeError, match="1 million limit"):
        decode_image(data, max_pixels=1_000_000)
    assert decode_image(data, max_pixels=1_440_000).width == 1200


def test_too_large_is_an_image_rejected_error_with_a_reason() -> None:
    with pytest.raises(ImageRejectedError) as caught:
        decode_image(raw_png(12_000, 9_000, 1, 0, rows=None))
    assert "export it smaller" in caught.value.reason


# --- orientation


def test_applies_exif_orientation_6_by_swapping_width_and_height() -> None:
    image = Image.new("RGB", (W, H), (255, 255, 255))
    image.paste((255, 0, 0), (0, 0, 100, 100))  # red marker in the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    decoded = decode_image(save(image, "JPEG", quality=95, exif=exif))
    assert decoded.exif_orientation == 6
    assert (decoded.width, decoded.height) == (H, W)
    # After a clockwise turn the stored top-left corner is displayed top-right.
    assert decoded.pixels[20, -20, 0] > 200 and decoded.pixels[20, -20, 1] < 60
    assert decoded.pixels[20, 20].min() > 200


# --- modes and colour


def test_converts_a_cmyk_jpeg_without_a_profile_with_the_plain_formula() -> None:
    decoded = decode_image(save(Image.new("CMYK", (W, H), (255, 0, 0, 0)), "JPEG", quality=95))
    assert decoded.source_mode == "CMYK"
    assert decoded.icc_profile is None
    assert np.abs(decoded.pixels[10, 10].astype(int) - (0, 255, 255)).max() <= 3


def test_converts_a_cmyk_jpeg_through_its_embedded_profile() -> None:
    image = Image.new("CMYK", (W, H), (255, 0, 0, 0))
    decoded = decode_image(save(image, "JPEG", quality=95, icc_profile=swapped_cmyk_profile()))
    assert decoded.icc_profile == "Test CMYK"
    # The profile prints pure cyan as magenta; the plain formula would give cyan.
    assert np.abs(decoded.pixels[10, 10].astype(int) - (255, 0, 255)).max() <= 6


def test_converts_an_rgb_profile_to_srgb() -> None:
    image = Image.new("RGB", (W, H), (255, 0, 0))
    decoded = decode_image(save(image, "PNG", icc_profile=swapped_rgb_profile()))
    assert decoded.icc_profile == "Swapped Red Green"
    assert np.abs(decoded.pixels[0, 0].astype(int) - (0, 255, 0)).max() <= 3


def test_keeps_pixels_when_the_embedded_profile_is_srgb() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    decoded = decode_image(save(Image.new("RGB", (W, H), (12, 34, 56)), "PNG", icc_profile=srgb))
    assert decoded.icc_profile is not None and decoded.icc_profile.lower().startswith("srgb")
    assert tuple(decoded.pixels[0, 0]) == (12, 34, 56)


def test_ignores_a_corrupt_profile_instead_of_rejecting_the_photo() -> None:
    decoded = decode_image(save(Image.new("RGB", (W, H), (12, 34, 56)), "PNG", icc_profile=b"not a profile"))
    assert decoded.icc_profile is None
    assert tuple(decoded.pixels[0, 0]) == (12, 34, 56)


def test_scales_a_16_bit_grey_png_to_8_bit_rgb() -> None:
    values = np.full((H, W), 0x8080, dtype=np.uint16)
    values[:, : W // 2] = 65535
    decoded = decode_image(save(Image.fromarray(values), "PNG"))
    assert decoded.pixels.dtype == np.uint8
    assert tuple(decoded.pixels[0, 0]) == (255, 255, 255)
    assert tuple(decoded.pixels[0, -1]) == (128, 128, 128)


def test_scales_a_16_bit_tiff_to_8_bit_rgb() -> None:
    values = np.full((H, W), 0x4000, dtype=np.uint16)
    image = Image.frombytes("I;16", (W, H), values.tobytes())
    decoded = decode_image(save(image, "TIFF"))
    assert decoded.source_mode.startswith("I;16")
    assert tuple(decoded.pixels[5, 5]) == (64, 64, 64)


def test_reads_a_48_bit_colour_png() -> None:
    rgb16 = np.zeros((H, W, 3), dtype=">u2")
    rgb16[..., 0] = 65535
    rgb16[..., 2] = 0x8000
    rows = b"".join(b"\0" + rgb16[y].tobytes() for y in range(H))
    decoded = decode_image(raw_png(W, H, 16, 2, rows))
    assert np.abs(decoded.pixels[3, 3].astype(int) - (255, 0, 128)).max() <= 1


@pytest.mark.parametrize("mode", ["L", "1"])
def test_expands_grey_and_bilevel_images_to_rgb(mode: str) -> None:
    image = Image.new(mode, (W, H), 255)
    decoded = decode_image(save(image, "PNG"))
    assert decoded.pixels.shape == (H, W, 3)
    assert tuple(decoded.pixels[0, 0]) == (255, 255, 255)


def test_composites_transparent_rgba_onto_white() -> None:
    rgba = np.zeros((H, W, 4), dtype=np.uint8)
    rgba[..., 0] = 200  # red where opaque, but hidden where transparent
    rgba[:, : W // 2, 3] = 255
    rgba[:, W // 2 :, 3] = 0
    rgba[0, 0, 3] = 128
    decoded = decode_image(save(Image.fromarray(rgba), "PNG"))
    assert tuple(decoded.pixels[10, 10]) == (200, 0, 0)
    assert tuple(decoded.pixels[10, -10]) == (255, 255, 255)
    assert tuple(decoded.pixels[0, 0]) == (227, 127, 127)  # round(200*128/255 + 255*127/255)


def test_composites_a_palette_png_with_transparency_onto_white() -> None:
    image = Image.new("P", (W, H), 0)
    image.putpalette([0, 0, 255, 0, 255, 0] + [0] * 762)
    image.paste(1, (0, 0, W // 2, H))
    decoded = decode_image(save(image, "PNG", transparency=0))
    assert tuple(decoded.pixels[10, 10]) == (0, 255, 0)
    assert tuple(decoded.pixels[10, -10]) == (255, 255, 255)


def test_composites_grey_with_alpha_onto_white() -> None:
    image = Image.new("LA", (W, H), (0, 0))
    image.paste((0, 255), (0, 0, 10, 10))
    decoded = decode_image(save(image, "PNG"))
    assert tuple(decoded.pixels[5, 5]) == (0, 0, 0)
    assert tuple(decoded.pixels[500, 500]) == (255, 255, 255)


# --- working files


def test_round_trips_rgb_and_alpha_through_a_working_png_except_the_colour_nobody_can_see() -> None:
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 255, (40, 30, 3), dtype=np.uint8)
    alpha = rng.integers(0, 255, (40, 30), dtype=np.uint8)
    alpha[:5] = 0
    back_rgb, back_alpha = decode_png_rgba(encode_png(rgb, alpha))
    assert np.array_equal(back_alpha, alpha)
    seen = alpha > 0
    assert np.array_equal(back_rgb[seen], rgb[seen])
    assert not back_rgb[~seen].any() and rgb[~seen].any()


def test_reads_a_working_png_without_alpha_as_fully_opaque() -> None:
    rgb = np.full((5, 7, 3), 9, dtype=np.uint8)
    back_rgb, back_alpha = decode_png_rgba(encode_png(rgb))
    assert np.array_equal(back_rgb, rgb)
    assert back_alpha.shape == (5, 7) and (back_alpha == 255).all()


def test_refuses_a_working_file_that_is_not_a_png() -> None:
    with pytest.raises(UndecodableImageError):
        decode_png_rgba(save(Image.new("RGB", (8, 8)), "JPEG"))


def test_refuses_to_encode_an_alpha_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError):
        encode_png(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5), np.uint8))


@pytest.mark.parametrize(("shape", "step"), [((64, 64, 3), 1), ((1000, 1501, 3), 15), ((997, 3001, 3), 15),
                                             ((130, 70, 3), 7)])
def test_the_blank_checks_block_means_are_exactly_the_plain_means_of_each_block(
        shape: tuple[int, int, int], step: int) -> None:
    pixels = np.random.default_rng(step).integers(0, 256, shape, dtype=np.uint8)
    h, w = (shape[0] // step) * step, (shape[1] // step) * step
    plain = pixels[:h, :w].reshape(h // step, step, w // step, step, 3).mean(axis=(1, 3))
    fast = block_means(pixels, step)
    assert fast.dtype == plain.dtype and np.array_equal(fast, plain)


# --- classify's working copy, made from Pillow's image of the pixels


def _noisy(mode: str, size: tuple[int, int], seed: int) -> Image.Image:
    bands = len(Image.new(mode, (1, 1)).getbands())
    values = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], bands), dtype=np.uint8)
    return Image.fromarray(values[..., 0] if bands == 1 else values, mode)


def _oriented_jpeg(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return save(_noisy("RGB", (1001, 1003), orientation), "JPEG", quality=90, exif=exif)


def _png_with_alpha(alpha: int | None) -> bytes:
    image = _noisy("RGBA", (1000, 1201), 3)
    if alpha is not None:
        image.putalpha(alpha)
    else:  # a product on a transparent frame, touching the left border, a 1-pixel dot far from it
        mask = Image.new("L", image.size, 0)
        mask.paste(255, (0, 300, 400, 900))
        mask.putpixel((900, 1100), 255)
        image.putalpha(mask)
    return save(image, "PNG")


@pytest.mark.parametrize("make", [
    lambda: save(_noisy("RGB", (1001, 1003), 1), "JPEG", quality=90),
    lambda: _oriented_jpeg(6),
    lambda: _oriented_jpeg(3),
    lambda: save(_noisy("L", (1000, 1999), 2), "PNG"),
    lambda: save(_noisy("RGB", (1000, 1000), 4).convert("P"), "PNG"),
    lambda: save(_noisy("CMYK", (1003, 1000), 5), "JPEG", quality=90),
    lambda: save(_noisy("RGB", (1200, 1000), 6), "PNG", icc_profile=swapped_rgb_profile()),
    lambda: _png_with_alpha(255),
    lambda: _png_with_alpha(None),
    lambda: save(_noisy("RGB", (1000, 1000), 7), "WEBP", lossless=True),
], ids=["jpeg-odd-size", "jpeg-orientation-6", "jpeg-orientation-3", "grey-png", "palette-png", "cmyk-jpeg",
        "rgb-profile-png", "alpha-all-255", "product-on-transparent", "lossless-webp"])
def test_the_working_copy_made_while_decoding_is_the_one_made_from_the_pixels(make: object) -> None:
    from packshot.imaging.complexity import working_copy

    data = make()  # type: ignore[operator]
    decoded = decode_image(data, preview=True)
    reference = working_copy(np.array(decoded.pixels))  # the plain way: from a writable copy of the array
    preview = decoded.preview if decoded.preview is not None else working_copy(decoded.pixels)
    assert preview.dtype == np.uint8 and preview.shape == reference.shape
    assert np.array_equal(preview, reference)
    assert decode_image(data).preview is None  # made only when asked for


def test_the_working_copy_of_a_pillow_image_under_the_working_size_is_its_pixels() -> None:
    from packshot.imaging.complexity import working_copy

    small = _noisy("RGB", (300, 200), 8)
    assert np.array_equal(working_copy(small), np.asarray(small))
    assert np.array_equal(working_copy(_noisy("RGB", (1, 1), 9)), np.asarray(_noisy("RGB", (1, 1), 9)))


def test_decoded_pixels_are_read_only_so_no_step_changes_the_master_in_place() -> None:
    decoded = decode_image(save(_noisy("RGB", (1000, 1000), 10), "PNG"))
    with pytest.raises(ValueError):
        decoded.pixels[0, 0] = 0
