"""Camera RAW: recognised by content (signatures and TIFF structure, never the suffix), developed with LibRaw."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from packshot.errors import (
    ImageTooLargeError,
    ImageTooSmallError,
    UndecodableImageError,
    UnsupportedRawError,
)

# Signatures of RAW formats that are not TIFF-shaped: (offset, bytes, format).
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (4, b"ftypcrx ", "CR3"),
    (0, b"FUJIFILMCCD-RAW", "RAF"),
    (0, b"IIRO", "ORF"),
    (0, b"IIRS", "ORF"),
    (0, b"MMOR", "ORF"),
    (0, b"IIU\0", "RW2"),
    (0, b"\0MRM", "MRW"),
    (0, b"FOVb", "X3F"),
    (6, b"HEAPCCDR", "CRW"),
)
_TIFF_MAGIC = (b"II*\0", b"MM\0*")
_TIFF_SHAPED = {"ORF", "RW2"}
# The format a maker's TIFF-shaped RAW files have (named on the record; LibRaw needs no hint).
_MAKER_FORMATS = (
    ("NIKON", "NEF"), ("SONY", "ARW"), ("CANON", "CR2"), ("EASTMAN KODAK", "KDC"), ("KODAK", "KDC"),
    ("PENTAX", "PEF"), ("RICOH", "PEF"), ("SAMSUNG", "SRW"), ("OLYMPUS", "ORF"), ("PANASONIC", "RW2"),
    ("LEICA", "RWL"), ("FUJIFILM", "RAF"), ("HASSELBLAD", "3FR"), ("PHASE ONE", "IIQ"), ("EPSON", "ERF"),
    ("MAMIYA", "MEF"), ("SIGMA", "X3F"), ("MINOLTA", "MRW"), ("KONICA MINOLTA", "MRW"),
)
_CFA, _LINEAR_RAW = 32803, 34892
# Tags the structure walk keeps: NewSubfileType, Photometric, Make, Model, strips, tiles, JPEG thumbnail,
# SubIFDs, DNGVersion, BaselineExposure.
_KEPT = {254, 256, 257, 262, 271, 272, 273, 277, 279, 324, 325, 330, 513, 514, 50706, 50730}
_TYPE_FORMATS = {1: "B", 3: "H", 4: "I", 5: "II", 9: "i", 10: "ii", 13: "I", 16: "Q"}
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8}
# LibRaw's exposure shift accepts 0.25-8 (linear scale, -2 to +3 EV).
_EXP_SHIFT_RANGE = (0.25, 8.0)


@dataclass(frozen=True)
class RawFile:
    """A file whose content says camera RAW: its format, the camera, and how sure the structure is."""

    format: str
    make: str = ""
    model: str = ""
    certain: bool = True  # False: TIFF with sub-images only; a plain TIFF reader may still be right
    data_end: int = 0  # where the image data the file's structure points at ends (0: unknown)
    # The largest image's data: (bytes held, fewest bytes it can take, "WxH"); (0, 0, "") when unknown.
    image_data: tuple[int, int, str] = (0, 0, "")
    baseline_exposure: float = 0.0  # DNG BaselineExposure (EV), 0 elsewhere

    @property
    def camera(self) -> str:
        make = self.make.strip()
        model = self.model.strip()
        if model.upper().startswith(make.upper()):
            make = ""  # "Canon EOS R" rather than "Canon Canon EOS R"
        return " ".join(part for part in (make, model) if part) or "unknown camera"


def identify_raw(data: bytes) -> RawFile | None:
    """The camera RAW a file is, by its signature or TIFF structure; None for anything else."""
    for offset, signature, kind in _SIGNATURES:
        if data[offset : offset + len(signature)] == signature:
            if kind == "CR3":
                return RawFile(kind, *_camera_in_cr3(data), data_end=_bmff_end(data))
            if kind == "RAF":  # the camera's name follows the 28-byte header
                return RawFile(kind, "FUJIFILM", _text(data[28:60]))
            if kind in _TIFF_SHAPED:  # TIFF structure under a magic of its own
                ifds = _walk_tiff(data)
                first = ifds[0] if ifds else {}
                return RawFile(kind, _text(first.get(271)), _text(first.get(272)),
                               data_end=max((_data_end(ifd) for ifd in ifds), default=0))
            return RawFile(kind)
    if data[:4] not in _TIFF_MAGIC:
        return None
    ifds = _walk_tiff(data)
    if not ifds:
        return None
    first = ifds[0]
    make = _text(first.get(271))
    model = _text(first.get(272))
    data_end = max((_data_end(ifd) for ifd in ifds), default=0)
    if data[8:12] == b"IIII":  # Phase One IIQ: its own directory after a TIFF header
        return RawFile("IIQ", make or "Phase One", model)
    photometrics = {_first(ifd.get(262)) for ifd in ifds}
    if 50706 in first:
        exposure = first.get(50730)
        return RawFile("DNG", make, model, data_end=data_end, image_data=_image_data(ifds),
                       baseline_exposure=float(exposure[0] / exposure[1]) if exposure and exposure[1] else 0.0)
    kind = next((fmt for maker, fmt in _MAKER_FORMATS if make.upper().startswith(maker)), "RAW")
    if data[8:10] == b"CR":
        return RawFile("CR2", make, model, data_end=data_end)
    if photometrics & {_CFA, _LINEAR_RAW}:
        return RawFile(kind, make, model, data_end=data_end, image_data=_image_data(ifds))
    if 330 in first:
        # The full image lives in a sub-IFD: camera RAWs keep it so, behind a small preview in IFD0.
        reduced = bool(_first(first.get(254)) or 0) & 1
        return RawFile(kind, make, model, certain=bool(reduced and kind != "RAW"), data_end=data_end)
    return None


def develop(data: bytes, raw_file: RawFile, *, min_side: int, max_pixels: int) -> Any:
    """Develop with LibRaw: camera white balance, sRGB primaries and curve, BaselineExposure, 16 bits.

    Returns a DecodedImage; raises a rejection naming the camera when the file is cut short or unreadable.
    """
    import rawpy  # imported here: only RAW uploads pay for it

    from packshot.imaging.decode import DecodedImage, to_8bit, too_many_pixels

    name = f"{raw_file.format} raw" if raw_file.format != "RAW" else "camera RAW"
    if raw_file.data_end > len(data):
        raise UndecodableImageError(
            f"the {name} file from the {raw_file.camera} is cut short: it ends at byte {len(data):,} but its"
            f" image data runs to byte {raw_file.data_end:,}; copy it from the card or camera again"
        )
    held, needed, size = raw_file.image_data
    if held < needed:
        # LibRaw "develops" such a file from memory it never filled (garbage that differs run to run).
        raise UndecodableImageError(
            f"the {name} file from the {raw_file.camera} holds {held:,} bytes of image data for a {size} px"
            f" picture, which needs at least {needed:,}: its data is missing; copy it from the card or camera again"
        )
    try:
        raw = rawpy.imread(io.BytesIO(data))
    except (rawpy.LibRawError, OSError, ValueError) as exc:
        raise UnsupportedRawError(
            f"unsupported RAW ({raw_file.camera}): LibRaw {'.'.join(map(str, rawpy.libraw_version))} cannot read"
            f" this {name} file ({_libraw_words(exc)}); export it as a 16-bit TIFF or DNG from the camera's"
            " software"
        ) from exc
    with raw:
        sizes = raw.sizes
        # raw.sizes is the developed picture's size (before the flip), never an embedded thumbnail's.
        width, height = int(sizes.width), int(sizes.height)
        if width * height > max_pixels:
            raise ImageTooLargeError(too_many_pixels(width * height, max_pixels, f"{width}x{height}"))
        if max(width, height) < min_side:
            raise ImageTooSmallError(
                f"longest side {max(width, height)} px is under the {min_side} px minimum marketplaces need for"
                " zoom; upload a larger original"
            )
        try:
            # sRGB's own curve (gamma 2.4, toe 12.92), not LibRaw's default BT.709 one (2.222, 4.5), which
            # renders a third darker; no_auto_bright keeps the photographer's exposure (a white sweep exposed
            # near clipping stays so); a DNG's BaselineExposure is the maker's "this is how bright it looks".
            pixels16 = raw.postprocess(
                output_bps=16,
                use_camera_wb=True,
                no_auto_bright=True,
                output_color=rawpy.ColorSpace.sRGB,
                gamma=(2.4, 12.92),
                exp_shift=float(np.clip(2.0 ** raw_file.baseline_exposure, *_EXP_SHIFT_RANGE)),
                exp_preserve_highlights=1.0,
            )
        except (rawpy.LibRawError, OSError, ValueError) as exc:
            raise UndecodableImageError(
                f"the {name} data from the {raw_file.camera} is truncated or corrupt ({_libraw_words(exc)});"
                " copy it from the card or camera again"
            ) from exc
        flip = int(sizes.flip)
    pixels16 = np.ascontiguousarray(pixels16)
    exposure = f", BaselineExposure {raw_file.baseline_exposure:+.2f} EV" if raw_file.baseline_exposure else ""
    return DecodedImage(
        pixels=to_8bit(pixels16),
        format=raw_file.format,
        source_mode="CFA",
        width=int(pixels16.shape[1]),
        height=int(pixels16.shape[0]),
        icc_profile=f"{raw_file.format} camera colour ({raw_file.camera}) to sRGB by LibRaw{exposure}",
        exif_orientation={0: 1, 3: 3, 5: 8, 6: 6}.get(flip, 1),
        pixels16=pixels16,
        bit_depth=16,
    )


def _libraw_words(exc: Exception) -> str:
    text = exc.args[0] if exc.args else exc
    return (text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)).strip() or type(exc).__name__


# --- structure


def _walk_tiff(data: bytes, base: int = 0, limit: int = 64) -> list[dict[int, Any]]:
    """IFD0, its chain and its SubIFDs (one level), each as {tag: value} for the tags in _KEPT."""
    order = "<" if data[base : base + 2] == b"II" else ">"
    try:
        (first,) = struct.unpack(order + "I", data[base + 4 : base + 8])
    except struct.error:
        return []
    ifds: list[dict[int, Any]] = []
    queue, seen = [first], set()
    while queue and len(ifds) < limit:
        offset = queue.pop(0)
        if offset in seen or not 8 <= offset < len(data) - base:
            continue
        seen.add(offset)
        ifd, next_offset = _read_ifd(data, base, offset, order)
        if ifd is None:
            continue
        ifds.append(ifd)
        if next_offset:
            queue.append(next_offset)
        if len(ifds) == 1:
            queue.extend(int(v) for v in ifd.get(330, ()))
    return ifds


def _read_ifd(data: bytes, base: int, offset: int, order: str) -> tuple[dict[int, Any] | None, int]:
    try:
        (count,) = struct.unpack(order + "H", data[base + offset : base + offset + 2])
        tags: dict[int, Any] = {}
        for i in range(min(count, 1024)):
            entry = data[base + offset + 2 + 12 * i : base + offset + 14 + 12 * i]
            code, kind, n = struct.unpack(order + "HHI", entry[:8])
            if code not in _KEPT or kind not in _TYPE_SIZES:
                continue
            size = _TYPE_SIZES[kind] * n
            start = base + offset + 2 + 12 * i + 8
            if size > 4:
                start = base + struct.unpack(order + "I", entry[8:12])[0]
            raw = data[start : start + min(size, 1 << 16)]
            if kind == 2:
                tags[code] = raw
            elif kind in _TYPE_FORMATS:
                fmt = _TYPE_FORMATS[kind]
                items = len(raw) // struct.calcsize(order + fmt)
                tags[code] = struct.unpack(order + fmt * items, raw[: items * struct.calcsize(order + fmt)])
        (next_offset,) = struct.unpack(
            order + "I", data[base + offset + 2 + 12 * count : base + offset + 6 + 12 * count])
        return tags, next_offset
    except struct.error:
        return None, 0


def _data_end(ifd: dict[int, Any]) -> int:
    """Where the image data an IFD points at ends: strips, tiles or its JPEG thumbnail."""
    ends = [0]
    for offsets, counts in ((273, 279), (324, 325)):
        if offsets in ifd and counts in ifd:
            ends.extend(int(o) + int(c) for o, c in zip(ifd[offsets], ifd[counts], strict=False))
    if 513 in ifd and 514 in ifd:
        ends.append(int(_first(ifd[513]) or 0) + int(_first(ifd[514]) or 0))
    return max(ends)


def _image_data(ifds: list[dict[int, Any]]) -> tuple[int, int, str]:
    """The largest image's bytes held and the fewest it can take: one bit per 8x8 block per sample, as
    any compression (lossless or lossy JPEG, deflate) of real sensor data takes more."""
    sized = [ifd for ifd in ifds if 256 in ifd and 257 in ifd]
    if not sized:
        return 0, 0, ""
    main = max(sized, key=lambda ifd: int(_first(ifd[256])) * int(_first(ifd[257])))
    width, height = int(_first(main[256])), int(_first(main[257]))
    samples = int(_first(main.get(277, (1,))) or 1)
    held = sum(int(c) for counts in (main.get(279, ()), main.get(325, ())) for c in counts)
    return held, width * height * samples // 64 // 8, f"{width}x{height}"


def _bmff_end(data: bytes) -> int:
    """Where an ISO media file's top-level boxes say it ends (CR3): the sum of their declared sizes."""
    offset = 0
    while offset + 8 <= len(data):
        (size,) = struct.unpack(">I", data[offset : offset + 4])
        if size == 1 and offset + 16 <= len(data):
            (size,) = struct.unpack(">Q", data[offset + 8 : offset + 16])
        if size == 0:
            return len(data)  # "to the end of the file"
        if size < 8:
            return offset
        offset += size
    return offset


def _camera_in_cr3(data: bytes) -> tuple[str, str]:
    """Make and Model from a CR3's CMT1 box (a TIFF IFD0 inside the movie header)."""
    at = data.find(b"CMT1", 0, 1 << 20)
    if at < 0:
        return "", ""
    ifds = _walk_tiff(data, base=at + 4, limit=1)
    return (_text(ifds[0].get(271)), _text(ifds[0].get(272))) if ifds else ("", "")


def _text(value: Any) -> str:
    return value.split(b"\0", 1)[0].decode("latin-1", "replace").strip() if isinstance(value, bytes) else ""


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, tuple) and value else value
