"""Damage that decoders hide: libjpeg's warnings, JPEG headers that promise more than the data, PNG checksums.

Pillow fills a damaged JPEG restart interval or a cut-short scan with grey and says nothing, and stops reading a
PNG once it has every row, before zlib's checksum; a product photo with a grey block in it then ships. These
checks run before Pillow decodes a pixel; each says where the damage is when the file lets us know.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from packshot.errors import CorruptImageError

# libjpeg warnings that mean the picture is not what was shot (jerror.h); other warnings (an odd JFIF
# thumbnail, an unknown APP marker) do not touch the pixels.
_CORRUPTION_WARNINGS = ("Corrupt JPEG data", "Premature end of JPEG file", "Invalid SOS parameters",
                        "Inconsistent progression sequence")
# Bytes before the end-of-image marker after the last scan: junk some writers leave; every pixel is there.
_TRAILING_JUNK = "before marker 0xd9"
_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_SEQUENTIAL_HUFFMAN = {0xC0, 0xC1}
# 1/8 scale: libjpeg still decodes every bit of entropy-coded data (that is where damage shows) but only
# the DC coefficient of each block is turned into pixels, so a 96 MP frame needs 4.5 MB, not 288 MB.
_CHECK_SCALE = {"min_height": 1, "min_width": 1, "min_factor": 8}
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_INFLATE_STEP = 1 << 20


@dataclass(frozen=True)
class JpegFrame:
    """What a JPEG's headers say before its first scan."""

    marker: int
    width: int
    height: int
    components: tuple[tuple[int, int, int], ...]  # (id, horizontal sampling, vertical sampling)
    restart_interval: int
    scan_start: int  # offset of the first byte of entropy-coded data
    header: bytes  # every segment from SOI to the end of the first SOS, as the file has them

    @property
    def mcu_size(self) -> tuple[int, int]:
        h = max(c[1] for c in self.components)
        v = max(c[2] for c in self.components)
        return 8 * h, 8 * v

    @property
    def blocks(self) -> int:
        """8x8 blocks the frame needs, over all components: each costs at least one bit of scan data."""
        h_max = max(c[1] for c in self.components)
        v_max = max(c[2] for c in self.components)
        total = 0
        for _, h, v in self.components:
            width = -(-self.width * h // h_max)
            height = -(-self.height * v // v_max)
            total += -(-width // 8) * -(-height // 8)
        return total


def check_jpeg(data: bytes) -> None:
    """Raise CorruptImageError when the JPEG's data is damaged or shorter than its header promises."""
    frame = read_jpeg_frame(data)
    if frame is None or not frame.components:
        return  # headers Pillow already judged; nothing we can add
    scan_bytes = len(data) - frame.scan_start
    if scan_bytes * 8 < frame.blocks:
        raise CorruptImageError(
            f"the JPEG header says {frame.width}x{frame.height} px, which needs at least {frame.blocks // 8:,} bytes"
            f" of image data, but the file holds {scan_bytes:,}: the JPEG data is damaged or cut short;"
            " export it again"
        )
    warning = _libjpeg_warning(data)
    if warning is None:
        return
    if "Premature end of JPEG file" in warning:
        raise CorruptImageError(
            f"the JPEG file is cut short: its data ends before the {frame.width}x{frame.height} px picture does"
            f" (libjpeg: {warning}); upload or export it again"
        )
    where = _damaged_interval_row(data, frame)
    place = f" in its {third(where / frame.height)} (from row {where:,} of {frame.height:,})" if where is not None \
        else ""
    raise CorruptImageError(
        f"the JPEG data is damaged{place} (libjpeg: {warning}); a {frame.width}x{frame.height} px picture"
        " would ship with a flat block in it; export it again"
    )


def third(fraction: float) -> str:
    """Where in the picture a fraction of its height falls, in words."""
    return "upper third" if fraction < 1 / 3 else "middle third" if fraction < 2 / 3 else "lower third"


def read_jpeg_frame(data: bytes) -> JpegFrame | None:
    """The frame header, restart interval and first scan of a JPEG, or None when they cannot be found."""
    pos, marker, size = 2, 0, (0, 0)
    components: tuple[tuple[int, int, int], ...] = ()
    restart = 0
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        code = data[pos + 1]
        if code == 0xFF:  # fill bytes before a marker
            pos += 1
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segment = data[pos + 4 : pos + 2 + length]
        if code in _SOF_MARKERS and len(segment) >= 6:
            marker = code
            height, width, count = struct.unpack(">HHB", segment[1:6])
            size = (width, height)
            components = tuple((segment[6 + 3 * i], segment[7 + 3 * i] >> 4, segment[7 + 3 * i] & 15)
                               for i in range(count) if len(segment) >= 9 + 3 * i)
            if any(h == 0 or v == 0 for _, h, v in components):
                return None
        elif code == 0xDD and len(segment) >= 2:
            (restart,) = struct.unpack(">H", segment[:2])
        elif code == 0xDA:
            scan_start = pos + 2 + length
            return JpegFrame(marker, size[0], size[1], components, restart, scan_start, data[:scan_start])
        pos += 2 + length
    return None


def _libjpeg_warning(data: bytes) -> str | None:
    """libjpeg's corruption warning for this JPEG (decoded at 1/8 scale), or None when it has none."""
    import simplejpeg

    try:
        _, _, colorspace, _ = simplejpeg.decode_jpeg_header(data, strict=False, **_CHECK_SCALE)
        target = {"CMYK": "CMYK", "YCCK": "CMYK", "Gray": "GRAY"}.get(colorspace, "RGB")
        simplejpeg.decode_jpeg(data, colorspace=target, strict=True, **_CHECK_SCALE)
    except ValueError as exc:
        message = str(exc)
        if any(word in message for word in _CORRUPTION_WARNINGS) and _TRAILING_JUNK not in message:
            return message
    return None


def _damaged_interval_row(data: bytes, frame: JpegFrame) -> int | None:
    """The first pixel row of the first damaged restart interval, or None when the file cannot tell.

    Each restart interval resets the decoder, so it can be decoded on its own: as a strip of
    `restart_interval` MCUs under the file's own tables. Only one-scan (sequential) JPEGs qualify.
    """
    import simplejpeg

    if not frame.restart_interval or frame.marker not in _SEQUENTIAL_HUFFMAN:
        return None
    sos = frame.header.rfind(b"\xff\xda")
    if sos < 0 or frame.header[sos + 4] != len(frame.components):
        return None  # a scan with some components only: intervals are not whole MCUs
    mcu_w, mcu_h = frame.mcu_size
    per_row = -(-frame.width // mcu_w)
    total_mcus = per_row * -(-frame.height // mcu_h)
    strip_header = _strip_header(frame, frame.restart_interval * mcu_w, mcu_h)
    interval, start, pos, end = 0, frame.scan_start, frame.scan_start, len(data)
    while pos < end:
        marker = data.find(b"\xff", pos)
        if marker < 0 or marker + 1 >= end:
            marker = end
        elif data[marker + 1] == 0x00 or data[marker + 1] == 0xFF:
            pos = marker + 1
            continue
        is_restart = marker < end and 0xD0 <= data[marker + 1] <= 0xD7
        expected = 0xD0 + interval % 8
        mcus = min(frame.restart_interval, total_mcus - interval * frame.restart_interval)
        if mcus <= 0:
            return None
        header = strip_header if mcus == frame.restart_interval else _strip_header(frame, mcus * mcu_w, mcu_h)
        try:
            simplejpeg.decode_jpeg(header + data[start:marker] + b"\xff\xd9", colorspace="GRAY" if len(
                frame.components) == 1 else "RGB", strict=True, **_CHECK_SCALE)
        except ValueError:
            return interval * frame.restart_interval // per_row * mcu_h
        if not is_restart:
            return None  # the scan ended; the damage is not in any interval
        if data[marker + 1] != expected:
            return (interval + 1) * frame.restart_interval // per_row * mcu_h  # a restart marker lost
        interval += 1
        start = pos = marker + 2
    return None


def _strip_header(frame: JpegFrame, width: int, height: int) -> bytes:
    """The file's headers for a frame of width x height with no restart interval: one interval, alone."""
    out = bytearray(b"\xff\xd8")
    pos = 2
    header = frame.header
    while pos + 4 <= len(header):
        code = header[pos + 1]
        (length,) = struct.unpack(">H", header[pos + 2 : pos + 4])
        segment = header[pos : pos + 2 + length]
        if code in _SOF_MARKERS:
            segment = segment[:5] + struct.pack(">HH", height, width) + segment[9:]
        if code != 0xDD and not 0xE0 <= code <= 0xEF and code != 0xFE:  # drop DRI, APPn, comments
            out += segment
        pos += 2 + length
    return bytes(out)


def check_png(data: bytes) -> None:
    """Raise CorruptImageError when a PNG's image data fails its chunk CRC or its zlib stream is broken."""
    if len(data) < 33:
        return
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    row_bytes = 1 + -(-width * _PNG_CHANNELS.get(colour, 4) * depth // 8)
    inflater = zlib.decompressobj()
    produced = 0
    # (first, last) bytes of rows inflated where the damage can be (None: only the end tells); what failed
    damage: tuple[tuple[int, int] | None, str] | None = None
    pos = 8
    try:
        while pos + 12 <= len(data) and damage is None:
            (length,) = struct.unpack(">I", data[pos : pos + 4])
            kind = data[pos + 4 : pos + 8]
            payload = data[pos + 8 : pos + 8 + length]
            if kind == b"IEND":
                break
            if kind == b"IDAT":
                before = produced
                stored_crc = data[pos + 8 + length : pos + 12 + length]
                intact = len(stored_crc) == 4 and zlib.crc32(kind + payload) & 0xFFFFFFFF == struct.unpack(
                    ">I", stored_crc)[0]
                try:
                    produced = _inflate(inflater, payload, produced)
                except zlib.error:
                    if intact:
                        raise
                if len(stored_crc) < 4:
                    damage = ((produced, produced), "the file is cut short inside its image data")
                elif not intact:
                    damage = ((before, produced), "a checksum of the image data fails")
            pos += 12 + length
        if damage is None and not inflater.eof:
            produced += len(inflater.flush())
            if not inflater.eof:
                damage = ((produced, produced), "its image data ends early")
    except zlib.error as exc:
        # A broken stream shows where it broke; a failed Adler-32 only at the very end.
        damage = (None if "incorrect data check" in str(exc) else (produced, produced),
                  f"its compressed data fails zlib's check ({exc})")
    if damage is None:
        return
    span, what = damage
    place = ""
    if span is not None and not interlace:
        first, last = (min(at // row_bytes, height) for at in span)
        if last - first <= height / 3:
            place = f" in its {third((first + last) / 2 / max(height, 1))} (from row {first:,} of {height:,})"
    raise CorruptImageError(f"the PNG data is damaged{place}: {what}; export it again")


def _inflate(inflater: zlib._Decompress, payload: bytes, produced: int) -> int:
    """Feed one IDAT chunk to zlib, throwing the rows away; returns the bytes of rows inflated so far."""
    chunk = payload
    while chunk and not inflater.eof:
        produced += len(inflater.decompress(chunk, _INFLATE_STEP))
        chunk = inflater.unconsumed_tail
    return produced
