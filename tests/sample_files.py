"""Real files of every input format, made by the tests themselves (no fixtures on disk)."""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence

import numpy as np
from PIL import Image

from packshot.imaging.tiff import ASCII, BYTE, CFA, LONG, NONE, RATIONAL, SHORT, SRATIONAL, Tag, encode_tiff

W, H = 1200, 1000
# A studio scene: warm-grey sweep with a red product in the middle.
BACKGROUND = (236, 230, 220)
PRODUCT = (190, 40, 40)


def scene(width: int = W, height: int = H, background: tuple[int, int, int] = BACKGROUND,
          product: tuple[int, int, int] = PRODUCT) -> np.ndarray:
    rgb = np.empty((height, width, 3), dtype=np.uint8)
    rgb[:] = background
    rgb[height // 4 : 3 * height // 4, width // 3 : 2 * width // 3] = product
    return rgb


def save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def jpeg(rgb: np.ndarray | None = None, **options: object) -> bytes:
    return save(Image.fromarray(scene() if rgb is None else rgb), "JPEG", quality=95, **options)


def png(rgb: np.ndarray | None = None, **options: object) -> bytes:
    return save(Image.fromarray(scene() if rgb is None else rgb), "PNG", **options)


def webp() -> bytes:
    return save(Image.fromarray(scene()), "WEBP", lossless=True)


def heic() -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    return save(Image.fromarray(scene()), "HEIF", quality=95)


def palette_png() -> bytes:
    image = Image.fromarray(scene()).quantize(colors=4)
    return save(image, "PNG")


def gps_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (51.0, 30.0, 0.0)
    gps[3] = "W"
    gps[4] = (0.0, 7.0, 0.0)
    return exif


def tiff16(rgb16: np.ndarray | None = None, icc: bytes | None = None) -> bytes:
    """A 16-bit RGB TIFF (deflate), as Capture One or Lightroom export one."""
    if rgb16 is None:
        rgb16 = scene().astype(np.uint16) * 257
        rgb16[0, 0] = (1000, 2000, 3000)  # values an 8-bit file cannot hold
    return encode_tiff(rgb16, icc_profile=icc)


def multipage_tiff() -> bytes:
    pages = [Image.fromarray(scene()), Image.fromarray(scene(product=(0, 0, 200)))]
    buffer = io.BytesIO()
    pages[0].save(buffer, format="TIFF", save_all=True, append_images=pages[1:], compression="tiff_deflate")
    return buffer.getvalue()


# --- camera RAW: TIFF-structured files with a Bayer (RGGB) mosaic, the way DNG, NEF, ARW and CR2 store it.


def bayer(width: int = W, height: int = H, grey: tuple[int, int, int] = (3000, 6000, 4000)) -> np.ndarray:
    """An RGGB mosaic of a grey sweep under warm light (camera red and blue weaker than green) with a red patch."""
    r, g, b = grey
    cfa = np.zeros((height, width), dtype=np.uint16)
    cfa[0::2, 0::2], cfa[0::2, 1::2], cfa[1::2, 0::2], cfa[1::2, 1::2] = r, g, g, b
    patch = (slice(height // 4, 3 * height // 4), slice(width // 3, 2 * width // 3))
    block = cfa[patch]
    block[0::2, 0::2] = 12000
    block[0::2, 1::2] = block[1::2, 0::2] = 1500
    block[1::2, 1::2] = 1000
    return cfa


def _cfa_tags(make: str, model: str) -> list[Tag]:
    return [Tag(271, ASCII, make), Tag(272, ASCII, model), Tag(33421, SHORT, [2, 2]), Tag(33422, BYTE, [0, 1, 1, 2])]


def dng(width: int = W, height: int = H, cfa: np.ndarray | None = None, profile_tags: Sequence[Tag] = ()) -> bytes:
    """A minimal valid DNG 1.4: one uncompressed CFA IFD with the DNG colour tags LibRaw needs; profile_tags
    add to them or replace them (by tag code)."""

    def ratio(v: float) -> tuple[int, int]:
        return (round(v * 10000), 10000)

    # Canon EOS 5D Mark III's ColorMatrix1 (Adobe DNG Converter), D65; AsShotNeutral undoes the warm light.
    matrix = (0.6722, -0.0635, -0.0963, -0.4287, 1.2460, 0.2028, -0.0908, 0.2162, 0.5668)
    tags = _cfa_tags("Packshot", "Test Camera") + [
        Tag(50706, BYTE, [1, 4, 0, 0]),  # DNGVersion
        Tag(50707, BYTE, [1, 1, 0, 0]),  # DNGBackwardVersion
        Tag(50708, ASCII, "Packshot Test Camera"),  # UniqueCameraModel
        Tag(50714, LONG, [0]),  # BlackLevel
        Tag(50717, LONG, [16383]),  # WhiteLevel (14-bit sensor)
        Tag(50721, SRATIONAL, [ratio(v) for v in matrix]),  # ColorMatrix1
        Tag(50778, SHORT, [21]),  # CalibrationIlluminant1 = D65
        Tag(50728, RATIONAL, [ratio(0.5), ratio(1.0), ratio(2 / 3)]),  # AsShotNeutral
    ]
    tags = list({tag.code: tag for tag in [*tags, *profile_tags]}.values())
    mosaic = bayer(width, height) if cfa is None else cfa
    return encode_tiff(mosaic, compression=NONE, photometric=CFA, extra_tags=tags)


def nef() -> bytes:
    """An uncompressed NEF layout (Nikon's "uncompressed" raw option): Nikon make, CFA strips."""
    return encode_tiff(bayer(), compression=NONE, photometric=CFA, extra_tags=_cfa_tags("NIKON CORPORATION",
                                                                                        "NIKON D810"))


def arw() -> bytes:
    """An uncompressed ARW layout: Sony make, CFA strips."""
    return encode_tiff(bayer(), compression=NONE, photometric=CFA, extra_tags=_cfa_tags("SONY", "ILCE-7RM2"))


def cr2() -> bytes:
    """A CR2 header ("CR" 2.0 after the TIFF header) with Canon make and uncompressed CFA strips."""
    return encode_tiff(bayer(), compression=NONE, photometric=CFA, header_extra=b"CR\x02\x00" + struct.pack("<I", 0),
                       extra_tags=_cfa_tags("Canon", "Canon EOS 5D Mark III"))


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    return data[: int(len(data) * keep)]


def wrong_magic(data: bytes) -> bytes:
    """The same bytes with the first eight (the format's signature) scrambled."""
    return b"\x13\x37NOTIMG" + data[8:]
