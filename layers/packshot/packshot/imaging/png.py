"""The stage-to-stage file: 8-bit RGB or RGBA PNG written and read directly, fast, still a PNG any browser shows.

Each stage hands the next one a PNG in the work bucket (a reviewer's browser shows the same files, so it must stay
a PNG). Pillow's writer tries several row filters per row and deflates with zlib; this one gives every row the
"Up" filter (the difference from the row above: one numpy subtraction) and deflates with ISA-L at level 1.
On a 6 MP camera photo that is 9.2 MB in 0.08 s against Pillow's 9.3 MB in 0.8 s at compress_level=1; on a
cutout whose transparent pixels are zero, 0.75 MB in 0.04 s. Reading such a file back is the inverse: inflate,
then add each row to the one above (a row loop of in-place additions; numpy's cumsum over rows is 30x slower).
Any other PNG (a reviewer's upload from an editor, another filter, 16 bits, a palette) is read by Pillow.

RGB and alpha travel as separate arrays in the stages but interleaved in the file: `interleave` and `split` use
Pillow's packers (C loops), three to four times faster than numpy's strided copies (`np.dstack`, `[..., :3]`), and
`interleave` zeroes the colour under fully transparent pixels, so no photo hides there and those rows deflate to
almost nothing. An optional ICC profile goes in an iCCP chunk, which editors and browsers honour and the fast
reader skips.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator

import numpy as np
from isal import isal_zlib
from PIL import Image, UnidentifiedImageError

from packshot.errors import StageFileError

# What Pillow raises while reading a damaged file (beyond UnidentifiedImageError for a foreign one).
PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError)

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Colour types: 2 = RGB, 6 = RGBA (8 bits per sample, the only depth written here).
_COLOUR_TYPES = {3: 2, 4: 6}
_CHANNELS = {2: 3, 6: 4}
# Row filters: 0 = None, 2 = Up. The writer uses Up only; the fast reader accepts both.
_NONE, _UP = 0, 2
# Rows are filtered and deflated in bands of about this many bytes, so a 100 MP frame needs no second full copy.
_BAND_BYTES = 4 << 20
# ISA-L level 1: the size of zlib's level 1 at a quarter of its time (level 0 is 20% bigger for 20% less time).
LEVEL = 1


def encode_png(rgb: np.ndarray, alpha: np.ndarray | None = None, *, icc_profile: bytes | None = None,
               keep_hidden: bool = False) -> bytes:
    """The stage file: a lossless PNG of RGB, or RGBA when alpha is given (this module), for the next stage and
    the reviewer's browser alike.

    Under fully transparent pixels the colour is written as 0: a stage file carries no photo where nothing shows
    (keep_hidden keeps it, for a cache of a model's output that is no stage file). icc_profile is embedded as is.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"rgb must be (H, W, 3) uint8, got {rgb.dtype} {rgb.shape}")
    if alpha is not None:
        if alpha.shape != rgb.shape[:2] or alpha.dtype != np.uint8:
            raise ValueError(f"alpha must be uint8 {rgb.shape[:2]}, got {alpha.dtype} {alpha.shape}")
        return encode(interleave(rgb, alpha, keep_hidden=keep_hidden), icc_profile)
    return encode(rgb, icc_profile)


def decode_png_rgba(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Read a stage file back as (rgb (H, W, 3) uint8, alpha (H, W) uint8; 255 where it had no alpha).

    The stages' own files take the fast path; any other PNG (a reviewer's upload) is read by Pillow. Anything
    else - another format, a truncated or damaged file - is a StageFileError (an UndecodableImageError) saying so.
    """
    try:
        pixels = decode(data, max_pixels=2 * (Image.MAX_IMAGE_PIXELS or 1 << 40))
    except NotOurPng:
        pixels = None
    except ValueError as exc:
        raise StageFileError(f"the working PNG cannot be read ({exc}); rerun the previous stage") from exc
    if pixels is None:
        try:
            with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
                image.load()
                pixels = np.array(image.convert("RGBA"))
        except (UnidentifiedImageError, *PILLOW_ERRORS) as exc:
            raise StageFileError(f"the working PNG cannot be read ({exc}); rerun the previous stage") from exc
    if pixels.shape[2] == 3:
        return pixels, np.full(pixels.shape[:2], 255, np.uint8)
    return split(pixels)


class NotOurPng(ValueError):
    """The PNG uses something the fast reader does not (a filter other than None/Up, 16 bits, a palette...)."""


def encode(pixels: np.ndarray, icc_profile: bytes | None = None) -> bytes:
    """PNG bytes of (H, W, 3) RGB or (H, W, 4) RGBA uint8 pixels: Up-filtered rows, ISA-L deflate level 1.

    With icc_profile, the profile goes in an iCCP chunk (named "ICC profile", zlib-compressed), before the pixels.
    """
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] not in _COLOUR_TYPES:
        raise ValueError(f"pixels must be (H, W, 3 or 4) uint8, got {pixels.dtype} {pixels.shape}")
    height, width, channels = pixels.shape
    if height == 0 or width == 0:
        raise ValueError(f"an image needs at least one pixel, got {pixels.shape}")
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOUR_TYPES[channels], 0, 0, 0)
    parts = [SIGNATURE, _chunk(b"IHDR", header)]
    if icc_profile:
        # Keyword, its NUL, compression method 0 (zlib), the compressed profile (PNG 1.2, section 11.3.3.3).
        parts.append(_chunk(b"iCCP", b"ICC profile\0\0" + isal_zlib.compress(icc_profile, LEVEL)))
    compressor = isal_zlib.compressobj(LEVEL)
    for band in _filtered_bands(pixels):
        data = compressor.compress(band)
        if data:
            parts.append(_chunk(b"IDAT", data))
    parts.append(_chunk(b"IDAT", compressor.flush()))
    parts.append(_chunk(b"IEND", b""))
    return b"".join(parts)


def interleave(rgb: np.ndarray, alpha: np.ndarray, *, keep_hidden: bool = False) -> np.ndarray:
    """(H, W, 4) RGBA of (H, W, 3) rgb and (H, W) alpha, both uint8; colour under alpha 0 set to 0 (keep_hidden
    keeps it: a cache of a model's own output, which is no stage file)."""
    height, width = alpha.shape
    image = Image.frombuffer("RGB", (width, height), np.ascontiguousarray(rgb), "raw", "RGB", 0, 1)
    image.putalpha(Image.frombuffer("L", (width, height), np.ascontiguousarray(alpha), "raw", "L", 0, 1))
    packed = image.tobytes()
    del image  # one 4-byte copy of the frame at a time besides the result
    rgba = np.frombuffer(bytearray(packed), np.uint8).reshape(height, width, 4)
    del packed
    if not keep_hidden:
        # One 32-bit word per pixel: a transparent pixel becomes all zeros in one masked store.
        np.copyto(rgba.view(np.uint32).reshape(height, width), 0, where=alpha == 0)
    return rgba


def split(rgba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rgb (H, W, 3), alpha (H, W)) of (H, W, 4) uint8 pixels: contiguous, writable copies."""
    height, width = rgba.shape[:2]
    image = Image.frombuffer("RGBA", (width, height), np.ascontiguousarray(rgba), "raw", "RGBA", 0, 1)
    rgb = np.frombuffer(bytearray(image.tobytes("raw", "RGB")), np.uint8).reshape(height, width, 3)
    alpha = np.frombuffer(bytearray(image.tobytes("raw", "A")), np.uint8).reshape(height, width)
    return rgb, alpha


def _filtered_bands(pixels: np.ndarray) -> Iterator[memoryview]:
    """Rows as PNG scanlines (a filter byte, then the row), every row Up-filtered, a band at a time."""
    height, width, channels = pixels.shape
    row_bytes = width * channels
    rows = pixels.reshape(height, row_bytes)
    band_rows = max(1, _BAND_BYTES // row_bytes)
    for top in range(0, height, band_rows):
        bottom = min(height, top + band_rows)
        out = np.empty((bottom - top, row_bytes + 1), np.uint8)
        out[:, 0] = _UP
        # The row above the first one is all zeros (PNG's rule), so Up leaves the first row as it is.
        above = rows[top - 1 : bottom - 1] if top > 0 else np.concatenate([np.zeros((1, row_bytes), np.uint8),
                                                                            rows[: bottom - 1]])
        np.subtract(rows[top:bottom], above, out=out[:, 1:])
        yield out.reshape(-1).data


def decode(data: bytes, max_pixels: int) -> np.ndarray:
    """(H, W, 3 or 4) uint8 pixels of a PNG this module wrote (any 8-bit RGB/RGBA PNG using only None/Up).

    Raises NotOurPng for anything else, so the caller can hand it to Pillow, and ValueError for a damaged file.
    """
    if not data.startswith(SIGNATURE):
        raise NotOurPng("not a PNG signature")
    view = memoryview(data)
    width = height = channels = 0
    idat: list[memoryview] = []
    position = len(SIGNATURE)
    while position + 8 <= len(data):
        length, tag = struct.unpack_from(">I4s", data, position)
        body_end = position + 8 + length
        if body_end + 4 > len(data):
            raise ValueError("the PNG ends inside a chunk (truncated)")
        crc = struct.unpack_from(">I", data, body_end)[0]
        if isal_zlib.crc32(view[position + 4 : body_end]) != crc:
            raise ValueError(f"the PNG's {tag.decode('latin-1')} chunk fails its CRC (damaged)")
        body = view[position + 8 : body_end]
        if tag == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body[:13])
            if depth != 8 or colour not in _CHANNELS or interlace:
                raise NotOurPng(f"depth {depth}, colour type {colour}, interlace {interlace}")
            channels = _CHANNELS[colour]
        elif tag == b"IDAT":
            idat.append(body)
        elif tag == b"IEND":
            break
        elif tag[0] & 0x20 == 0 or tag == b"tRNS":  # PLTE, or a transparent colour key: Pillow applies those
            raise NotOurPng(f"chunk {tag!r}")
        position = body_end + 4
    else:
        raise ValueError("the PNG has no IEND chunk (truncated)")
    if not channels or not idat:
        raise ValueError("the PNG has no IHDR or no image data")
    if width * height > max_pixels:
        raise NotOurPng(f"{width}x{height} is over {max_pixels} pixels: let Pillow's bomb check speak")
    row_bytes = width * channels + 1
    expected = row_bytes * height
    inflater = isal_zlib.decompressobj()
    raw = inflater.decompress(b"".join(idat), expected)
    if len(raw) != expected or not inflater.eof:
        raise ValueError(f"the PNG's image data holds {len(raw)} bytes, not the {expected} its header says")
    scanlines = np.frombuffer(raw, np.uint8).reshape(height, row_bytes)
    filters = scanlines[:, 0]
    if not np.isin(filters, (_NONE, _UP)).all():
        raise NotOurPng("rows use filters other than None and Up")
    rows = scanlines[:, 1:].copy()
    # Up: each row is its difference from the one above (uint8 additions wrap, as PNG's arithmetic does).
    for y in np.flatnonzero(filters == _UP):
        if y:
            np.add(rows[y], rows[y - 1], out=rows[y])
    return rows.reshape(height, width, channels)


def _chunk(tag: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", isal_zlib.crc32(body, isal_zlib.crc32(tag)))
