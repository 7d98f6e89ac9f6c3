"""Files that decode but must not ship (damaged data, empty frames) and odd files that must decode right."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from evidence import broken_files as bf
from packshot.errors import (
    BlankImageError,
    CorruptImageError,
    ImageRejectedError,
    ImageTooLargeError,
)
from packshot.imaging.decode import decode_image, decode_upload

# Adobe RGB (1998) and sRGB, both D65: linear RGB -> XYZ by their published primaries (IEC 61966-2-1, Adobe 2005).
ADOBE_TO_XYZ = np.array([[0.5767309, 0.1855540, 0.1881852], [0.2973769, 0.6273491, 0.0752741],
                         [0.0270343, 0.0706872, 0.9911085]])
SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])


def adobe_to_srgb(rgb: tuple[int, int, int]) -> np.ndarray:
    linear = (np.array(rgb) / 255.0) ** (563 / 256)
    srgb = np.clip(np.linalg.solve(SRGB_TO_XYZ, ADOBE_TO_XYZ @ linear), 0, 1)
    return 255 * np.where(srgb <= 0.0031308, srgb * 12.92, 1.055 * srgb ** (1 / 2.4) - 0.055)


# --- damaged data that Pillow decodes without a word


def test_a_jpeg_with_a_damaged_restart_interval_is_rejected_saying_where_the_damage_is() -> None:
    data = bf.damaged_restart_interval_jpeg(at=0.8)
    Image.open(io.BytesIO(data)).load()  # Pillow decodes it silently: the reason must come from us

    with pytest.raises(CorruptImageError) as caught:
        decode_image(data)
    assert "damaged in its lower third" in caught.value.reason
    assert "export it again" in caught.value.reason


def test_the_damage_is_placed_in_the_upper_third_when_it_is_there() -> None:
    with pytest.raises(CorruptImageError, match="upper third"):
        decode_image(bf.damaged_restart_interval_jpeg(at=0.1))


def test_a_jpeg_whose_header_claims_96_mp_over_1_mp_of_data_is_rejected_before_decoding() -> None:
    data = bf.lying_sof_jpeg((12000, 8000))
    started = time.perf_counter()
    with pytest.raises(CorruptImageError) as caught:
        decode_image(data)
    # Decoding 96 MP would take seconds and over a gigabyte; refusing from the header takes milliseconds.
    assert time.perf_counter() - started < 1.0
    assert "12000x8000" in caught.value.reason and "export it again" in caught.value.reason


def test_a_cut_jpeg_with_its_end_marker_put_back_is_rejected_not_filled_with_grey() -> None:
    with pytest.raises(CorruptImageError, match="JPEG data"):
        decode_image(bf.cut_jpeg_with_end_marker(0.6))


@pytest.mark.parametrize("fix_crc", [False, True], ids=["idat crc", "zlib checksum"])
def test_a_png_with_damaged_image_data_is_rejected(fix_crc: bool) -> None:
    data = bf.damaged_idat_png(at=0.8, fix_crc=fix_crc)
    Image.open(io.BytesIO(data)).load()  # decodes to garbage in Pillow

    with pytest.raises(CorruptImageError) as caught:
        decode_image(data)
    assert "PNG data is damaged" in caught.value.reason and "export it again" in caught.value.reason
    if not fix_crc:
        assert "lower third" in caught.value.reason


def test_an_undamaged_jpeg_with_restart_markers_and_an_undamaged_png_still_decode() -> None:
    buffer = io.BytesIO()
    Image.fromarray(bf.product()).save(buffer, "JPEG", quality=92, restart_marker_rows=1)
    assert decode_image(buffer.getvalue()).width == bf.W
    buffer = io.BytesIO()
    Image.fromarray(bf.product()).save(buffer, "PNG", compress_level=0)
    assert np.array_equal(decode_image(buffer.getvalue()).pixels, bf.product())


# --- pixels read right


def test_a_16_bit_cmyk_tiff_is_converted_from_ink_not_read_as_rgb_and_alpha() -> None:
    decoded = decode_image(bf.cmyk16_tiff((0, 65535, 65535, 0)))
    red = decoded.pixels[bf.H // 2, bf.W // 2].astype(int)
    paper = decoded.pixels[10, 10].astype(int)
    # Magenta + yellow ink is red; no ink is paper white (the plain formula without a profile).
    assert red[0] > 200 and red[1] < 60 and red[2] < 60, red
    assert paper.min() > 245, paper
    assert decoded.source_mode == "CMYK"


@pytest.mark.parametrize("bits", [8, 16])
def test_a_planar_rgb_tiff_is_read_per_channel(bits: int) -> None:
    data, rgb = bf.planar_rgb_tiff(bits)
    decoded = decode_image(data)
    assert decoded.pixels.shape == rgb.shape
    assert np.abs(decoded.pixels.astype(int) - rgb).max() <= 1


def test_a_jpeg_with_an_mpf_gain_map_is_decoded_from_its_primary_image() -> None:
    data = bf.mpf_jpeg()
    assert Image.open(io.BytesIO(data)).format == "MPO"
    decoded = decode_image(data)
    assert decoded.format == "JPEG"
    assert (decoded.width, decoded.height) == (bf.W, bf.H)
    assert np.abs(decoded.pixels[bf.H // 3, bf.W // 2].astype(int) - (190, 40, 40)).max() <= 6


def test_a_jpeg_without_profile_marked_adobe_rgb_in_exif_is_converted_from_adobe_rgb_and_says_so() -> None:
    rgb = np.empty((bf.H, bf.W, 3), np.uint8)
    rgb[:] = (200, 40, 40)
    rgb[: bf.H // 2] = (40, 160, 60)
    decoded = decode_image(bf.exif_colour_space_jpeg(rgb, 0xFFFF, "R03"))
    assert decoded.icc_profile is not None and "Adobe RGB (1998)" in decoded.icc_profile
    assert "EXIF" in decoded.icc_profile
    for row, colour in ((bf.H // 4, (40, 160, 60)), (3 * bf.H // 4, (200, 40, 40))):
        assert np.abs(decoded.pixels[row, bf.W // 2].astype(float) - adobe_to_srgb(colour)).max() <= 4, colour


def test_a_jpeg_marked_srgb_by_r98_is_left_as_srgb() -> None:
    rgb = bf.product()
    decoded = decode_image(bf.exif_colour_space_jpeg(rgb, 1, "R98"))
    assert decoded.icc_profile is None
    assert np.abs(decoded.pixels[bf.H // 3, bf.W // 2].astype(int) - (190, 40, 40)).max() <= 6


# --- nothing to cut out


@pytest.mark.parametrize("kind,words", [
    ("white", "one colour"), ("black", "one colour"), ("grey", "one colour"), ("empty sweep", "one colour"),
    ("transparent", "fully transparent"), ("line", "1x100000"),
])
def test_a_photo_with_nothing_to_cut_out_is_rejected_with_a_reason(kind: str, words: str) -> None:
    with pytest.raises(BlankImageError) as caught:
        decode_upload(bf.blank(kind))
    assert words in caught.value.reason
    assert isinstance(caught.value, ImageRejectedError)


def test_a_white_product_on_a_white_sweep_is_not_blank(repo) -> None:
    decoded = decode_upload((repo / "examples" / "white_box_on_white.jpg").read_bytes())
    assert decoded.width >= 1000


# --- our own words


def test_a_200_mp_photo_is_refused_in_our_words_not_pillows() -> None:
    header = b"\x89PNG\r\n\x1a\n" + bf._png_chunk(b"IHDR", (16320).to_bytes(4, "big") + (12240).to_bytes(4, "big")
                                                 + bytes([8, 2, 0, 0, 0]))
    with pytest.raises(ImageTooLargeError) as caught:
        decode_image(header + bf._png_chunk(b"IEND", b""))
    reason = caught.value.reason
    assert "200 million pixels" in reason and "100 million limit" in reason and "export it smaller" in reason
    assert "bomb" not in reason.lower() and "DOS" not in reason


# --- camera RAW by content


def test_a_tiff_raw_from_a_maker_other_than_nikon_sony_or_canon_is_developed_by_libraw() -> None:
    from packshot.imaging.tiff import CFA, NONE, encode_tiff
    from tests import sample_files as sf

    data = encode_tiff(sf.bayer(), compression=NONE, photometric=CFA,
                       extra_tags=sf._cfa_tags("PENTAX Corporation", "PENTAX K-1"))
    decoded = decode_image(data)
    assert decoded.format == "PEF" and decoded.bit_depth == 16
    assert (decoded.width, decoded.height) == (sf.W, sf.H)
    assert "PENTAX K-1" in (decoded.icc_profile or "")


def test_a_raw_whose_data_runs_past_the_end_of_the_file_is_called_cut_short_naming_the_camera() -> None:
    from packshot.errors import UndecodableImageError
    from packshot.imaging.tiff import CFA, NONE, encode_tiff
    from tests import sample_files as sf

    whole = encode_tiff(sf.bayer(), compression=NONE, photometric=CFA,
                        extra_tags=sf._cfa_tags("Panasonic", "DMC-LX3"))
    rw2 = b"IIU\0" + whole[4 : len(whole) // 3]  # Panasonic's RW2 is a TIFF under a magic of its own
    with pytest.raises(UndecodableImageError) as caught:
        decode_image(rw2)
    assert "RW2 raw file from the Panasonic DMC-LX3 is cut short" in caught.value.reason


def test_a_tiff_with_sub_images_that_libraw_does_not_know_is_read_as_a_tiff() -> None:
    from packshot.imaging.tiff import LONG, Tag, encode_tiff

    # SubIFDs alone only hint at a RAW; without a reduced-size IFD0 from a known maker the TIFF reader decides.
    data = encode_tiff(bf.product(), extra_tags=[Tag(330, LONG, [8])])
    decoded = decode_image(data)
    assert decoded.format == "TIFF"


def test_a_raw_whose_image_data_was_stripped_is_refused_not_developed_from_stale_memory() -> None:
    from packshot.errors import UndecodableImageError
    from packshot.imaging.tiff import LONG, Tag
    from tests import sample_files as sf

    # Metadata tools keep test RAWs as headers: a 3000x2000 picture with a few bytes of data. LibRaw
    # "developed" exiftool's DNG.dng into black or random colours from run to run.
    data = sf.encode_tiff(sf.bayer(16, 16), compression=sf.NONE, photometric=sf.CFA, extra_tags=[
        *sf._cfa_tags("Canon", "Canon EOS 350D DIGITAL"), Tag(50706, 1, [1, 4, 0, 0]),
        Tag(256, LONG, [3000]), Tag(257, LONG, [2000])])
    with pytest.raises(UndecodableImageError, match="holds 512 bytes of image data for a 3000x2000 px picture"):
        decode_image(data)
