"""Files real cameras, phones and editors wrote (../shared/realfiles): each one's expected outcome."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pytest

from eval.shared import realfiles_dir
from packshot.errors import (
    BlankImageError,
    ImageRejectedError,
    ImageTooLargeError,
    ImageTooSmallError,
    UndecodableImageError,
)
from packshot.imaging.decode import DecodedImage, decode_image, decode_upload

REALFILES = realfiles_dir()


def real(name: str) -> bytes:
    path = REALFILES / name
    if not path.is_file():
        pytest.skip(f"{path} is absent: the real camera files live beside the repository in shared/realfiles")
    return path.read_bytes()


@dataclass(frozen=True)
class Expected:
    """What decode_image makes of one file: its format and upright size, or the rejection and words."""

    format: str = ""
    size: tuple[int, int] = (0, 0)
    profile: str | None = ""  # a word the profile description contains; None: no profile
    rejected: type[ImageRejectedError] | None = None
    words: tuple[str, ...] = ()
    min_side: int = 1000


EXPECTED: dict[str, Expected] = {
    "heic_iphone13pro_p3_gps.heic": Expected("HEIF", (4032, 3024), "Display P3"),
    "heic_iphone8plus_rot6.heic": Expected("HEIF", (3024, 4032), "Display P3"),
    "heic_samsung_s24u_200mp.heic": Expected(rejected=ImageTooLargeError,
                                             words=("200 million pixels", "100 million limit", "export it smaller")),
    "heif_sony_a7s3_10bit.hif": Expected("HEIF", (4240, 2832), None),
    "jpg_canon_t6_adobergb_icc.jpg": Expected("JPEG", (2000, 1072), "Adobe RGB (1998)"),
    "jpg_cmyk_swop_canon300d_500px.jpg": Expected("JPEG", (500, 333), "SWOP", min_side=500),
    "jpg_iphone5_orient3_gps.jpg": Expected("JPEG", (3264, 2448), None),
    "jpg_iphonese2_displayp3_gps.jpg": Expected("JPEG", (4032, 3024), "Display P3"),
    "jpg_nikon_d40_orient6.jpg": Expected("JPEG", (2000, 3008), None),
    "jpg_olympus_ep3_adobergb_exif_noicc.jpg": Expected("JPEG", (1280, 960), "Adobe RGB (1998)"),
    "nikon_d70s_capturenx_jpeg_named_as.nef": Expected("JPEG", (2000, 3008), "Nikon sRGB"),
    "png_rgba_blackbug.png": Expected("PNG", (2048, 1536), None),
    "raw_canon6d_acr_lossy.dng": Expected("DNG", (1224, 816), "DNG"),
    "raw_canon_truncated.cr3": Expected(rejected=UndecodableImageError, words=("CR3", "Canon EOS R", "cut short")),
    "raw_kodak_dc50.kdc": Expected(rejected=ImageTooSmallError, words=("longest side 768 px",)),
    "raw_sony_zve10_truncated.arw": Expected(rejected=UndecodableImageError, words=("ARW", "ZV-E10", "cut short")),
    "tif16_gray_dji_fc6360_gps.tif": Expected("TIFF", (1600, 1300), None),
    "tif16_rgb_adobergb_fuji_xt2_317px.tiff": Expected("TIFF", (317, 211), "Adobe RGB (1998)", min_side=300),
    "tif_adobergb_pse2.tif": Expected("TIFF", (928, 1772), "Adobe RGB (1998)"),
    # A colour patch, one ink mix all over: nothing to cut out.
    "tif_cmyk_fogra39_patch.tif": Expected(rejected=BlankImageError, words=("one colour",)),
    "webp_gallery_4.webp": Expected("WEBP", (1024, 772), None),
}


def test_every_real_file_has_an_expected_outcome() -> None:
    if not REALFILES.is_dir():
        pytest.skip(f"{REALFILES} is absent")
    assert sorted(p.name for p in REALFILES.iterdir() if p.name != "SOURCES.md") == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_real_file_decodes_or_is_rejected_as_expected(name: str) -> None:
    expected = EXPECTED[name]
    data = real(name)
    if expected.rejected is not None:
        with pytest.raises(expected.rejected) as caught:
            decode_upload(data, min_side=expected.min_side)
        for word in expected.words:
            assert word in caught.value.reason, (word, caught.value.reason)
        return
    decoded = decode_upload(data, min_side=expected.min_side)
    assert decoded.format == expected.format
    assert (decoded.width, decoded.height) == expected.size
    assert decoded.pixels.shape == (expected.size[1], expected.size[0], 3)
    if expected.profile is None:
        assert decoded.icc_profile is None
    else:
        assert decoded.icc_profile is not None and expected.profile in decoded.icc_profile


def mean_rgb(decoded: DecodedImage) -> np.ndarray:
    return decoded.pixels.reshape(-1, 3).mean(axis=0)


# The reference for the Canon EOS 6D DNG is the sRGB preview (1024x683) Adobe Camera Raw 11.3.1 rendered and stored
# in the file, with the camera profile the file carries ("Adobe Standard": ForwardMatrix, HueSatMap, LookTable)
# and the "Adobe Color" look its XMP names: the rendering the photographer saw. A colorimetric rendering (LibRaw's
# ColorMatrix, no tone curve) is not what anyone judged the photo by.
def adobe_preview(data: bytes) -> np.ndarray:
    """The largest JPEG preview in the DNG's sub-IFDs, decoded to RGB."""
    import tifffile
    from PIL import Image

    with tifffile.TiffFile(io.BytesIO(data)) as tif:
        first = tif.pages[0]
        assert isinstance(first, tifffile.TiffPage)
        previews = [page for page in first.pages or () if isinstance(page, tifffile.TiffPage)
                    and page.compression == tifffile.COMPRESSION.JPEG and page.photometric != 34892]
        page = max(previews, key=lambda p: p.imagewidth * p.imagelength)
        start, size = page.dataoffsets[0], page.databytecounts[0]
    return np.asarray(Image.open(io.BytesIO(data[start : start + size])).convert("RGB")).astype(float)


def patch_means(rgb: np.ndarray, n: int = 4) -> np.ndarray:
    """(n, n, 3): the mean colour of each of n x n equal patches."""
    h, w = rgb.shape[:2]
    return np.array([[rgb[i * h // n : (i + 1) * h // n, j * w // n : (j + 1) * w // n].reshape(-1, 3).mean(axis=0)
                      for j in range(n)] for i in range(n)])


def test_the_canon_dng_matches_adobe_s_rendering_within_5_percent_on_every_channel() -> None:
    data = real("raw_canon6d_acr_lossy.dng")
    decoded = decode_image(data)
    assert decoded.icc_profile is not None
    assert "Adobe Standard" in decoded.icc_profile and "BaselineExposure +0.25 EV" in decoded.icc_profile
    error = mean_rgb(decoded) / adobe_preview(data).reshape(-1, 3).mean(axis=0) - 1
    # Measured: (34.6, 26.3, 46.1) against Adobe's (35.7, 26.3, 46.2): -2.9%, 0.0%, -0.3%. LibRaw's colour with
    # the sRGB curve and BaselineExposure gave (39.7, 30.8, 46.3), +11% and +17% in red and green; its defaults
    # (22, 16, 28).
    assert np.all(np.abs(error) <= 0.05), error


def test_each_sixteenth_of_the_canon_dng_matches_adobe_s_rendering() -> None:
    data = real("raw_canon6d_acr_lossy.dng")
    error = patch_means(decode_image(data).pixels.astype(float)) / patch_means(adobe_preview(data)) - 1
    # Measured: green and blue within 3.2% in every patch; red within 5% in 14 of 16, 5.5% and 10.6% (2.9 of 255
    # levels) in the two lit by the blue LED light, which lies outside sRGB: there Adobe maps colours into the
    # gamut (its red rises) and we clip. Over the pixels we keep in gamut, red is within 2% of Adobe's.
    assert np.all(np.abs(error[..., 1:]) <= 0.05), error
    assert np.count_nonzero(np.abs(error[..., 0]) > 0.05) <= 2, error[..., 0]
    assert np.all(np.abs(error[..., 0]) <= 0.12), error[..., 0]


def test_the_kodak_raw_is_developed_from_its_raw_data_not_its_96_px_thumbnail() -> None:
    decoded = decode_image(real("raw_kodak_dc50.kdc"), min_side=500)
    assert decoded.format == "KDC"
    assert (decoded.width, decoded.height) == (768, 512)
    assert decoded.bit_depth == 16
    assert 40 < mean_rgb(decoded).mean() < 220



def test_a_raw_that_is_not_a_dng_gets_srgb_s_own_curve_not_libraw_s_darker_bt709_default() -> None:
    import rawpy

    data = real("raw_kodak_dc50.kdc")
    ours = decode_image(data, min_side=500).pixels.astype(float)

    def libraw(**curve: object) -> np.ndarray:
        with rawpy.imread(io.BytesIO(data)) as raw:
            return raw.postprocess(use_camera_wb=True, no_auto_bright=True, output_color=rawpy.ColorSpace.sRGB,
                                   **curve).astype(float)

    # Measured: ours 106.4, LibRaw with sRGB's curve 106.3, with its default BT.709 curve 92.8 (13% darker).
    assert abs(ours.mean() - libraw(gamma=(2.4, 12.92)).mean()) < 1.0
    assert ours.mean() > 1.1 * libraw().mean()

def test_the_adobe_rgb_olympus_jpeg_comes_out_more_saturated_than_read_as_srgb() -> None:
    from PIL import Image

    data = real("jpg_olympus_ep3_adobergb_exif_noicc.jpg")
    decoded = decode_image(data)
    naive = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(float)
    ours = decoded.pixels.astype(float)
    # Adobe RGB's primaries are wider: the same numbers mean more saturated colours in sRGB.
    spread = lambda a: float((a.max(axis=2) - a.min(axis=2)).mean())  # noqa: E731
    assert spread(ours) > spread(naive) * 1.05
    assert "EXIF" in (decoded.icc_profile or "")


def test_16_bit_cmyk_with_the_real_fogra39_profile_prints_magenta_and_yellow_as_red() -> None:
    from PIL import Image

    from evidence import broken_files as bf

    icc = Image.open(io.BytesIO(real("tif_cmyk_fogra39_patch.tif"))).info["icc_profile"]
    decoded = decode_image(bf.cmyk16_tiff((0, 65535, 65535, 0), icc=icc))
    assert decoded.icc_profile is not None and "FOGRA39" in decoded.icc_profile
    red = decoded.pixels[bf.H // 2, bf.W // 2].astype(int)
    paper = decoded.pixels[10, 10].astype(int)
    # FOGRA39 paper is a little darker than 255; M100 Y100 is a warm red, not the plain formula's (255, 0, 0).
    assert red[0] > 200 and red[1] < 80 and red[2] < 80, red
    assert paper.min() > 225 and tuple(red) != (255, 0, 0), (paper, red)


def test_the_dji_16_bit_grey_tiff_is_read_as_a_tiff_not_as_a_camera_raw() -> None:
    decoded = decode_image(real("tif16_gray_dji_fc6360_gps.tif"))
    assert decoded.format == "TIFF" and decoded.had_gps
    assert np.array_equal(decoded.pixels[..., 0], decoded.pixels[..., 2])
