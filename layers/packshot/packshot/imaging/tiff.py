"""A small baseline TIFF writer: 8/16-bit RGB or CFA strips, deflate, ICC and extra tags (Pillow has no 16-bit RGB)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from isal import isal_zlib

# TIFF field types used here.
BYTE, ASCII, SHORT, LONG, RATIONAL, UNDEFINED, SRATIONAL = 1, 2, 3, 4, 5, 7, 10
_TYPE_SIZES = {BYTE: 1, ASCII: 1, SHORT: 2, LONG: 4, RATIONAL: 8, UNDEFINED: 1, SRATIONAL: 8}
_TYPE_CODES = {BYTE: "B", SHORT: "H", LONG: "I"}

# Compression tag values.
NONE, DEFLATE = 1, 8
# Photometric interpretations.
MINISBLACK, RGB, CFA = 1, 2, 32803

# Rows per strip: about 256 KiB of 16-bit RGB per strip at 6000 px wide keeps peak memory per strip small.
_STRIP_BYTES = 256 * 1024


@dataclass(frozen=True)
class Tag:
    """One IFD entry: values are ints (BYTE/SHORT/LONG), (num, den) pairs (RATIONAL/SRATIONAL) or bytes."""

    code: int
    kind: int
    values: bytes | str | Sequence[int] | Sequence[tuple[int, int]]


def encode_tiff(
    pixels: np.ndarray,
    *,
    icc_profile: bytes | None = None,
    compression: int = DEFLATE,
    level: int = 1,
    photometric: int | None = None,
    extra_tags: Sequence[Tag] = (),
    header_extra: bytes = b"",
) -> bytes:
    """One-page little-endian TIFF of (H, W, 3) or (H, W) uint8/uint16 pixels, written strip by strip.

    Deflate level 1 with horizontal differencing (predictor 2): a working master is written once per image
    and read rarely, so speed matters more than the last 10% of size. `level` is zlib's (0-9): up to ISA-L's
    highest (3) ISA-L writes the strips, above it zlib (ISA-L refuses the level); the stream format is the same.
    """
    if pixels.ndim not in (2, 3) or pixels.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"pixels must be (H, W[, 3]) uint8 or uint16, got {pixels.dtype} {pixels.shape}")
    if pixels.ndim == 3 and pixels.shape[2] != 3:
        raise ValueError(f"colour pixels need 3 channels, got {pixels.shape[2]}")
    height, width = pixels.shape[:2]
    samples = 1 if pixels.ndim == 2 else 3
    bits = pixels.dtype.itemsize * 8
    if photometric is None:
        photometric = RGB if samples == 3 else MINISBLACK
    row_bytes = width * samples * pixels.dtype.itemsize
    rows_per_strip = max(1, min(height, _STRIP_BYTES // max(1, row_bytes)))
    predictor = 2 if compression == DEFLATE else 1
    deflate = isal_zlib.compress if level <= isal_zlib.ISAL_BEST_COMPRESSION else zlib.compress

    strips: list[bytes] = []
    for top in range(0, height, rows_per_strip):
        block = np.ascontiguousarray(pixels[top : top + rows_per_strip]).astype(pixels.dtype.newbyteorder("<"))
        if compression == DEFLATE:
            shaped = block.reshape(block.shape[0], width, samples)
            # Predictor 2: each sample minus its left neighbour, wrapping within the sample's bit depth.
            diff = np.empty_like(shaped)
            diff[:, :1] = shaped[:, :1]
            np.subtract(shaped[:, 1:], shaped[:, :-1], out=diff[:, 1:])
            # ISA-L writes the same zlib stream format as zlib, at level 1 in about a third of the time.
            strips.append(deflate(diff.data, level))  # the array's buffer (a memoryview), no copy
        else:
            strips.append(block.tobytes())

    tags = [
        Tag(254, LONG, [0]),
        Tag(256, LONG, [width]),
        Tag(257, LONG, [height]),
        Tag(258, SHORT, [bits] * samples),
        Tag(259, SHORT, [compression]),
        Tag(262, SHORT, [photometric]),
        Tag(273, LONG, [0] * len(strips)),  # strip offsets, filled in below
        Tag(277, SHORT, [samples]),
        Tag(278, LONG, [rows_per_strip]),
        Tag(279, LONG, [len(s) for s in strips]),
        Tag(284, SHORT, [1]),
    ]
    if predictor != 1:
        tags.append(Tag(317, SHORT, [predictor]))
    if icc_profile:
        tags.append(Tag(34675, UNDEFINED, icc_profile))
    tags.extend(extra_tags)
    return _assemble(sorted(tags, key=lambda t: t.code), strips, header_extra)


def _assemble(tags: list[Tag], strips: list[bytes], header_extra: bytes) -> bytes:
    header_extra += b"\0" * (len(header_extra) % 2)
    header_size = 8 + len(header_extra)
    data_start = header_size + 2 + 12 * len(tags) + 4
    encoded = {tag.code: _encode_values(tag) for tag in tags}
    # Out-of-line values go right after the IFD (word-aligned), the strips after them; a strip-offset
    # payload's length does not depend on its values, so the layout is known before they are.
    offsets: dict[int, int] = {}
    cursor = data_start
    for tag in tags:
        if len(encoded[tag.code]) > 4:
            offsets[tag.code] = cursor
            cursor += len(encoded[tag.code]) + len(encoded[tag.code]) % 2
    strip_offsets = []
    for strip in strips:
        strip_offsets.append(cursor)
        cursor += len(strip)
    encoded[273] = struct.pack(f"<{len(strip_offsets)}I", *strip_offsets)
    out = bytearray(b"II*\0" + struct.pack("<I", header_size) + header_extra + struct.pack("<H", len(tags)))
    for tag in tags:
        payload = encoded[tag.code]
        field = struct.pack("<I", offsets[tag.code]) if tag.code in offsets else payload.ljust(4, b"\0")
        out += struct.pack("<HHI", tag.code, tag.kind, len(payload) // _TYPE_SIZES[tag.kind]) + field
    out += struct.pack("<I", 0)
    for tag in tags:
        if tag.code in offsets:
            out += encoded[tag.code] + b"\0" * (len(encoded[tag.code]) % 2)
    for strip in strips:
        out += strip
    return bytes(out)


def _encode_values(tag: Tag) -> bytes:
    values = tag.values
    if tag.kind == ASCII:
        text = values.encode("ascii") if isinstance(values, str) else bytes(values)  # type: ignore[arg-type]
        return text if text.endswith(b"\0") else text + b"\0"
    if isinstance(values, bytes):
        return values
    if tag.kind in (RATIONAL, SRATIONAL):
        code = "i" if tag.kind == SRATIONAL else "I"
        return b"".join(struct.pack(f"<{code}{code}", int(n), int(d)) for n, d in values)  # type: ignore[misc,str-unpack]
    return struct.pack(f"<{len(values)}{_TYPE_CODES[tag.kind]}", *[int(v) for v in values])  # type: ignore[arg-type]
