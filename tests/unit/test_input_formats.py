"""Every input format studios deliver, each from a real file the test makes, and every way each one breaks."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms

from packshot.errors import (
    ImageRejectedError,
    ImageTooLargeError,
    UndecodableImageError,
    UnsupportedImageError,
)
from packshot.imaging.decode import decode_image, sniff_raw
from packshot.imaging.icc import adobe_rgb_1998_profile, display_p3_profile, srgb_profile
from packshot.imaging.tiff import encode_tiff
from tests import sample_files as sf

MAKERS: dict[str, Callable[[], bytes]] = {
    "JPEG": sf.jpeg,
    "PNG": sf.png,
    "PNG palette": sf.palette_png,
    "TIFF 8-bit": lambda: sf.save(Image.fromarray(sf.scene()), "TIFF", compression="tiff_lzw"),
    "TIFF 16-bit": sf.tiff16,
    "WEBP": sf.webp,
    "HEIF": sf.heic,
    "DNG": sf.dng,
    "NEF": sf.nef,
    "ARW": sf.arw,
    "CR2": sf.cr2,
}
EXPECTED_FORMAT = {"PNG palette": "PNG", "TIFF 8-bit": "TIFF", "TIFF 16-bit": "TIFF"}
SIXTEEN_BIT = {"TIFF 16-bit", "DNG", "NEF", "ARW", "CR2"}


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return {name: make() for name, make in MAKERS.items()}


@pytest.mark.parametrize("name", list(MAKERS))
def test_each_format_decodes_upright_to_srgb_with_its_depth_recorded(files: dict[str, bytes], name: str) -> None:
    decoded = decode_image(files[name])
    assert decoded.format == EXPECTED_FORMAT.get(name, name)
    assert decoded.pixels.shape == (sf.H, sf.W, 3) and decoded.pixels.dtype == np.uint8
    assert decoded.bit_depth == (16 if name in SIXTEEN_BIT else 8)
    if name in SIXTEEN_BIT:
        assert decoded.pixels16 is not None and decoded.pixels16.dtype == np.uint16
        assert decoded.master_pixels is decoded.pixels16
    # The product (red) sits in the middle; the sweep around it has far more green. (The NEF/ARW/CR2 files
    # carry no white balance, so LibRaw's defaults for that camera tint them: only the contrast is asserted.)
    centre = decoded.pixels[sf.H // 2, sf.W // 2].astype(int)
    corner = decoded.pixels[10, 10].astype(int)
    assert centre[0] > centre[1] + 60 and centre[0] > centre[2] + 40, centre
    assert corner[1] > centre[1] + 40, (corner, centre)


@pytest.mark.parametrize("name", ["JPEG", "PNG", "WEBP", "HEIF", "TIFF 8-bit", "TIFF 16-bit"])
def test_rgb_formats_keep_the_colours_they_were_saved_with(files: dict[str, bytes], name: str) -> None:
    decoded = decode_image(files[name])
    assert np.abs(decoded.pixels[10, 10].astype(int) - sf.BACKGROUND).max() <= 3
    assert np.abs(decoded.pixels[sf.H // 2, sf.W // 2].astype(int) - sf.PRODUCT).max() <= 3


def test_a_16_bit_tiff_keeps_values_an_8_bit_file_cannot_hold(files: dict[str, bytes]) -> None:
    decoded = decode_image(files["TIFF 16-bit"])
    assert decoded.pixels16 is not None
    assert tuple(decoded.pixels16[0, 0]) == (1000, 2000, 3000)
    assert tuple(decoded.pixels[0, 0]) == (4, 8, 12)  # 1000/257, 2000/257, 3000/257 rounded


def test_a_dng_is_developed_with_its_as_shot_white_balance(files: dict[str, bytes]) -> None:
    # The mosaic's grey sweep is (3000, 6000, 4000) with AsShotNeutral (0.5, 1, 2/3): neutral once balanced.
    grey = decode_image(files["DNG"]).pixels[10, 10].astype(int)
    assert grey.max() - grey.min() <= 6, grey


@pytest.mark.parametrize("name,kind", [("DNG", "DNG"), ("NEF", "NEF"), ("ARW", "ARW"), ("CR2", "CR2")])
def test_camera_raw_is_recognised_by_its_magic_bytes_and_maker(files: dict[str, bytes], name: str,
                                                               kind: str) -> None:
    assert sniff_raw(files[name]) == kind


@pytest.mark.parametrize("name", ["TIFF 8-bit", "TIFF 16-bit", "JPEG", "PNG"])
def test_ordinary_files_are_not_taken_for_camera_raw(files: dict[str, bytes], name: str) -> None:
    assert sniff_raw(files[name]) is None


def test_a_nikon_tiff_that_is_not_raw_is_read_as_a_tiff() -> None:
    exif = Image.Exif()
    exif[0x010F] = "NIKON CORPORATION"  # Make: cameras write plain TIFFs too
    data = sf.save(Image.fromarray(sf.scene()), "TIFF", exif=exif)
    assert sniff_raw(data) is None
    assert decode_image(data).format == "TIFF"


# --- every broken variant of every format is rejected with a reason


BROKEN: dict[str, Callable[[bytes], bytes]] = {
    "truncated to half": sf.truncated,
    "truncated to a tenth": lambda d: sf.truncated(d, 0.1),
    "wrong magic bytes": sf.wrong_magic,
    "zero bytes": lambda d: b"",
}


@pytest.mark.parametrize("variant", list(BROKEN))
@pytest.mark.parametrize("name", list(MAKERS))
def test_each_broken_variant_of_each_format_is_rejected_with_a_reason(files: dict[str, bytes], name: str,
                                                                      variant: str) -> None:
    with pytest.raises(ImageRejectedError) as caught:
        decode_image(BROKEN[variant](files[name]))
    assert isinstance(caught.value, (UndecodableImageError, UnsupportedImageError))
    assert len(caught.value.reason) > 30 and ";" in caught.value.reason  # what happened; what to do


def test_a_multi_page_tiff_is_rejected_naming_the_pages() -> None:
    with pytest.raises(UnsupportedImageError, match="2 pages; upload a single still photo"):
        decode_image(sf.multipage_tiff())


def test_a_raw_over_the_pixel_limit_is_rejected_before_it_is_developed() -> None:
    with pytest.raises(ImageTooLargeError, match="1200x1000"):
        decode_image(sf.dng(), max_pixels=1_000_000)


# --- colour management


def lcms_to_srgb(rgb: np.ndarray, icc: bytes) -> np.ndarray:
    transform = ImageCms.buildTransform(ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                                        ImageCms.ImageCmsProfile(io.BytesIO(srgb_profile())), "RGB", "RGB",
                                        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    return np.array(ImageCms.applyTransform(Image.fromarray(rgb), transform))


def wide_gamut_scene() -> np.ndarray:
    rgb = sf.scene(product=(30, 200, 60))  # a green no sRGB file can hold once read as Adobe RGB / P3
    rgb[:50, :50] = (128, 128, 128)
    return rgb


@pytest.mark.parametrize("profile", [adobe_rgb_1998_profile, display_p3_profile])
@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_an_embedded_wide_gamut_profile_is_converted_to_srgb(profile: Callable[[], bytes], fmt: str) -> None:
    rgb = wide_gamut_scene()
    data = sf.save(Image.fromarray(rgb), fmt, icc_profile=profile(), **({"quality": 98} if fmt == "JPEG" else {}))
    decoded = decode_image(data)
    assert decoded.icc_profile in ("Adobe RGB (1998)", "Display P3")
    green = decoded.pixels[sf.H // 2, sf.W // 2].astype(int)
    # Read as sRGB it would stay (30, 200, 60); in sRGB the wider green needs less red and more green.
    assert green[0] < 20 and green[1] > 200, green
    assert np.abs(green - lcms_to_srgb(rgb, profile())[sf.H // 2, sf.W // 2]).max() <= 3


@pytest.mark.parametrize("profile", [adobe_rgb_1998_profile, display_p3_profile])
def test_a_16_bit_wide_gamut_tiff_is_converted_at_16_bits_the_way_littlecms_does_at_8(
        profile: Callable[[], bytes]) -> None:
    rgb = wide_gamut_scene()
    decoded = decode_image(sf.tiff16(rgb.astype(np.uint16) * 257, icc=profile()))
    assert decoded.bit_depth == 16
    expected = lcms_to_srgb(rgb, profile())
    assert np.abs(decoded.pixels.astype(int) - expected).max() <= 1


def test_a_cmyk_tiff_with_a_profile_is_converted_through_littlecms() -> None:
    from tests.unit.test_decode import swapped_cmyk_profile

    data = sf.save(Image.new("CMYK", (sf.W, sf.H), (255, 0, 0, 0)), "TIFF", icc_profile=swapped_cmyk_profile())
    decoded = decode_image(data)
    assert decoded.source_mode == "CMYK"
    assert np.abs(decoded.pixels[10, 10].astype(int) - (255, 0, 255)).max() <= 6


def test_gps_in_the_exif_is_noticed_so_the_record_can_say_it_was_dropped() -> None:
    assert decode_image(sf.jpeg(exif=sf.gps_exif())).had_gps
    assert not decode_image(sf.jpeg()).had_gps


def test_exif_orientation_is_applied_to_a_16_bit_tiff() -> None:
    rgb16 = np.zeros((sf.H, sf.W, 3), dtype=np.uint16)
    rgb16[:100, :100, 0] = 65535  # red marker in the stored top-left corner
    exif_tag = encode_tiff(rgb16)  # no orientation: stays put
    assert decode_image(exif_tag).pixels16[5, 5, 0] == 65535
    from packshot.imaging.tiff import SHORT, Tag

    rotated = encode_tiff(rgb16, extra_tags=[Tag(274, SHORT, [6])])  # Orientation 6: rotate 90 CW to display
    decoded = decode_image(rotated)
    assert decoded.exif_orientation == 6
    assert decoded.pixels16 is not None and decoded.pixels16.shape == (sf.W, sf.H, 3)
    assert decoded.pixels16[5, -5, 0] == 65535 and decoded.pixels16[5, 5, 0] == 0


def test_the_tiff_writer_round_trips_16_bit_rgb_and_its_profile_through_tifffile() -> None:
    rng = np.random.default_rng(3)
    rgb16 = rng.integers(0, 65535, (300, 200, 3), dtype=np.uint16)
    with tifffile.TiffFile(io.BytesIO(encode_tiff(rgb16, icc_profile=srgb_profile()))) as tif:
        page = tif.pages[0]
        assert np.array_equal(page.asarray(), rgb16)
        assert page.compression == 8 and page.predictor == 2  # deflate with horizontal differencing
        assert page.tags[34675].value == srgb_profile()


@pytest.mark.parametrize("level", [0, 1, 3, 6, 9])
def test_the_tiff_writer_takes_every_zlib_level_isal_writes_the_fast_ones(level: int) -> None:
    rgb16 = (np.random.default_rng(level).integers(0, 64, (120, 90, 3), dtype=np.uint16) * 1024)
    with tifffile.TiffFile(io.BytesIO(encode_tiff(rgb16, level=level))) as tif:
        assert np.array_equal(tif.pages[0].asarray(), rgb16)
