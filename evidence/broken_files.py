"""Files real clients send that are damaged, unusual or empty, made byte by byte (for the tests and bad_inputs)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

W, H = 1200, 1000


def product(width: int = W, height: int = H, seed: int = 0) -> np.ndarray:
    """A packshot with texture: a red box with a label on a near-white sweep, a little sensor noise."""
    rng = np.random.default_rng(seed)
    rgb = np.full((height, width, 3), 242, np.int16)
    rgb[height // 5 : 4 * height // 5, width // 3 : 2 * width // 3] = (190, 40, 40)
    rgb[height // 2 : height // 2 + height // 20, width // 3 : 2 * width // 3] = (240, 220, 90)
    rgb += rng.integers(-4, 5, rgb.shape, dtype=np.int16)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


# --- JPEG


def restart_markers(data: bytes) -> list[int]:
    """Offsets of the RSTn markers (FF D0-D7) in a JPEG's entropy-coded data."""
    return [i for i in range(len(data) - 1) if data[i] == 0xFF and 0xD0 <= data[i + 1] <= 0xD7]


def damaged_restart_interval_jpeg(at: float = 0.8) -> bytes:
    """A JPEG with restart markers whose interval at `at` of the markers has 40 bytes of garbage.

    libjpeg warns ("Corrupt JPEG data") and fills the rest of the interval; Pillow shows no warning.
    """
    data = bytearray(_save(Image.fromarray(product()), "JPEG", quality=92, restart_marker_rows=1))
    markers = restart_markers(bytes(data))
    start, end = markers[int(len(markers) * at)] + 2, markers[int(len(markers) * at) + 1]
    for i in range(start + 4, min(start + 44, end - 2)):
        data[i] = 0x00 if data[i] == 0xFF else (data[i] * 7 + 13) & 0xFF
    return bytes(data)


def lying_sof_jpeg(claimed: tuple[int, int] = (12000, 8000)) -> bytes:
    """A 1000x800 JPEG whose frame header (SOF0) claims `claimed` (width, height): 96 MP of grey to Pillow."""
    data = bytearray(_save(Image.fromarray(product(1000, 800)), "JPEG", quality=90))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", claimed[1], claimed[0])
    return bytes(data)


def cut_jpeg_with_end_marker(keep: float = 0.6) -> bytes:
    """A JPEG cut at `keep` of its bytes with the end marker put back: Pillow fills the rest with grey."""
    data = _save(Image.fromarray(product()), "JPEG", quality=92)
    return data[: int(len(data) * keep)] + b"\xff\xd9"


def mpf_jpeg() -> bytes:
    """A JPEG with an MPF index and a second image (an Ultra HDR gain map, a depth map): Pillow says MPO."""
    gain_map = Image.new("L", (W // 4, H // 4), 128)
    return _save(Image.fromarray(product()), "MPO", save_all=True, append_images=[gain_map], quality=92)


def exif_colour_space_jpeg(rgb: np.ndarray, colour_space: int = 0xFFFF, interop: str = "R03") -> bytes:
    """A JPEG without a profile whose EXIF says ColorSpace (0xA001) and InteropIndex, as cameras write them."""
    # Big-endian TIFF: IFD0 -> ExifIFD (ColorSpace, InteropIFD pointer) -> InteropIFD (InteropIndex).
    ifd0 = 8
    exif_ifd = ifd0 + 2 + 12 + 4
    interop_ifd = exif_ifd + 2 + 2 * 12 + 4
    tiff = b"MM\0*" + struct.pack(">I", ifd0)
    tiff += struct.pack(">H", 1) + struct.pack(">HHII", 0x8769, 4, 1, exif_ifd) + struct.pack(">I", 0)
    tiff += struct.pack(">H", 2) + struct.pack(">HHIHH", 0xA001, 3, 1, colour_space, 0)
    tiff += struct.pack(">HHII", 0xA005, 4, 1, interop_ifd) + struct.pack(">I", 0)
    tiff += struct.pack(">H", 1) + struct.pack(">HHI4s", 0x0001, 2, 4, interop.encode("ascii")[:3] + b"\0")
    tiff += struct.pack(">I", 0)
    return _save(Image.fromarray(rgb), "JPEG", quality=95, exif=b"Exif\0\0" + tiff)


# --- PNG


def _png_chunks(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """(offset, type, payload) of each chunk."""
    chunks, pos = [], 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append((pos, data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def damaged_idat_png(at: float = 0.8, fix_crc: bool = False, size: tuple[int, int] = (1000, 800)) -> bytes:
    """A PNG whose image data has 32 bytes overwritten at `at` of its length; Pillow decodes it to garbage.

    The data is stored uncompressed (zlib level 0, as some scanners and tools write it), so the damage
    decodes silently. With fix_crc the chunk checksums are recomputed (damage done before the file was
    written): only zlib's Adler-32 at the end then tells; without, the IDAT chunk's CRC no longer matches.
    """
    data = _save(Image.fromarray(product(*size)), "PNG", compress_level=0)  # 2.4 MB: under a 3 MB limit
    idat = b"".join(payload for _, kind, payload in _png_chunks(data) if kind == b"IDAT")
    # Pixel bytes of the row at `at`, past its filter byte, inside one stored deflate block (never a header).
    row_bytes = 1 + size[0] * 3
    spot = _stored_offset(idat, int(size[1] * at) * row_bytes + 1, 32)
    broken = idat[:spot] + bytes((b ^ 0x5A) for b in idat[spot : spot + 32]) + idat[spot + 32 :]
    # 8 KiB IDAT chunks as libpng writes them, zlib's 4-byte Adler-32 in a chunk of its own (Pillow stops
    # reading once it has every row, so it never checks it); a damaged chunk keeps the undamaged bytes' CRC.
    end = len(broken) - 4
    pieces = [(start, broken[start : min(start + 8192, end)]) for start in range(0, end, 8192)]
    pieces.append((len(broken) - 4, broken[-4:]))
    chunks = b"".join(
        _png_chunk(b"IDAT", piece, zlib.crc32(b"IDAT" + (piece if fix_crc else idat[start : start + len(piece)])))
        for start, piece in pieces
    )
    head = b"".join(_png_chunk(kind, payload) for _, kind, payload in _png_chunks(data) if kind == b"IHDR")
    return data[:8] + head + chunks + _png_chunk(b"IEND", b"")


def _stored_offset(stream: bytes, position: int, length: int) -> int:
    """Where decompressed byte `position` sits in a zlib stream of stored blocks, moved on so that the
    `length` bytes from there lie in one block."""
    offset, produced = 2, 0  # after the zlib header
    while offset + 5 <= len(stream):
        (size,) = struct.unpack("<H", stream[offset + 1 : offset + 3])
        if position < produced + size:
            start = max(position, produced)
            if start + length <= produced + size:
                return offset + 5 + start - produced
            position = produced + size  # straddles the next header: take the next block
        produced += size
        offset += 5 + size
    raise ValueError("position beyond the stored data")


def _png_chunk(kind: bytes, payload: bytes, crc: int | None = None) -> bytes:
    crc = zlib.crc32(kind + payload) if crc is None else crc
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc & 0xFFFFFFFF)


# --- TIFF


def cmyk16_tiff(cmyk: tuple[int, int, int, int] = (0, 65535, 65535, 0), icc: bytes | None = None) -> bytes:
    """A 16-bit CMYK TIFF (photometric SEPARATED), a print shop's master; one ink mix over the whole frame."""
    import tifffile

    pixels = np.empty((H, W, 4), np.uint16)
    pixels[:] = cmyk
    pixels[: H // 4] = (0, 0, 0, 0)  # paper white on top, so the frame is not one colour
    buffer = io.BytesIO()
    extratags = [(34675, 7, len(icc), icc, False)] if icc else []
    tifffile.imwrite(buffer, pixels, photometric="separated", compression="zlib", extratags=extratags)
    return buffer.getvalue()


def planar_rgb_tiff(bits: int = 16, compress: bool = False) -> tuple[bytes, np.ndarray]:
    """An RGB TIFF stored "per channel" (PlanarConfiguration 2), and the upright RGB it holds.

    Uncompressed, Pillow reads a 16-bit one scrambled; deflated (smaller, for size-limited runs) it reads it.
    """
    import tifffile

    rgb = product()
    pixels = rgb.astype(np.uint16) * 257 if bits == 16 else rgb
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.moveaxis(pixels, -1, 0), photometric="rgb", planarconfig="separate",
                     **({"compression": "zlib", "predictor": True} if compress else {}))
    return buffer.getvalue(), rgb


# --- photos with nothing in them


def blank(kind: str) -> bytes:
    """Frames with nothing to cut out: white, black, uniform grey, an empty sweep, fully transparent, a line."""
    rng = np.random.default_rng(3)
    if kind == "transparent":
        return _save(Image.new("RGBA", (W, H), (200, 40, 40, 0)), "PNG")
    if kind == "line":
        return _save(Image.new("RGB", (1, 100_000), (200, 40, 40)), "PNG")
    if kind == "empty sweep":
        # A studio sweep with nothing on it: a soft gradient and sensor noise, no product.
        ramp = np.linspace(236, 248, H)[:, None, None] + rng.normal(0, 2.0, (H, W, 3))
        return _save(Image.fromarray(np.clip(ramp, 0, 255).astype(np.uint8)), "JPEG", quality=90)
    colour = {"white": (255, 255, 255), "black": (0, 0, 0), "grey": (128, 128, 128)}[kind]
    return _save(Image.new("RGB", (W, H), colour), "JPEG", quality=90)
