"""ICC profiles Pillow cannot make itself (Adobe RGB (1998), Display P3) and matrix/TRC maths for 16-bit pixels."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cache

import numpy as np

# Adobe RGB (1998) by its published definition: primaries, D65 white, a pure gamma of 563/256.
_PRIMARIES = ((0.6400, 0.3300), (0.2100, 0.7100), (0.1500, 0.0600))
_D65 = (0.3127, 0.3290)
_GAMMA_U8F8 = 563  # 563/256 = 2.19921875, stored as u8Fixed8Number
# The ICC profile connection space is D50; colorants are adapted to it with Bradford, as ICC v2 expects.
_D50_XYZ = (0.9642, 1.0, 0.8249)
_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
DESCRIPTION = "Adobe RGB (1998)"
# The ICC header's creation date (dateTimeNumber, bytes 24-35). LittleCMS stamps the time it built the profile,
# so every process embedded different bytes and the same image gave a different file and sha256 on every run.
_DATE_TIME = slice(24, 36)
_FIXED_DATE = struct.pack(">6H", 2024, 1, 1, 0, 0, 0)


@cache
def adobe_rgb_1998_profile() -> bytes:
    """The bytes of an ICC v2 display profile for Adobe RGB (1998), loadable by ImageCms and colour engines."""
    colorants = _d50_colorants()
    tags = [
        (b"desc", _desc(DESCRIPTION)),
        (b"cprt", _text("No copyright, use freely. Built by packshot from the published Adobe RGB (1998) values.")),
        (b"wtpt", _xyz(_D50_XYZ)),
        (b"rXYZ", _xyz(colorants[:, 0])),
        (b"gXYZ", _xyz(colorants[:, 1])),
        (b"bXYZ", _xyz(colorants[:, 2])),
        (b"rTRC", _curve()),
        (b"gTRC", _curve()),
        (b"bTRC", _curve()),
    ]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    entries, data = [], b""
    shared: dict[bytes, int] = {}
    for signature, body in tags:
        # Identical tag bodies (the three TRCs) share one copy, as most profiles do.
        if body not in shared:
            shared[body] = offset + len(data)
            data += body + b"\0" * (-len(body) % 4)
        entries.append(struct.pack(">4sII", signature, shared[body], len(body)))
    table = struct.pack(">I", len(tags)) + b"".join(entries)
    size = 128 + len(table) + len(data)
    header = struct.pack(
        ">I4sI4s4s4s12s4s4sI4s4sQI12s4s44s",
        size,
        b"\0\0\0\0",  # preferred CMM: none
        0x02100000,  # version 2.1
        b"mntr",
        b"RGB ",
        b"XYZ ",
        struct.pack(">6H", 2024, 1, 1, 0, 0, 0),
        b"acsp",
        b"\0\0\0\0",
        0,
        b"\0\0\0\0",
        b"\0\0\0\0",
        0,
        0,  # rendering intent: perceptual
        _s15f16(_D50_XYZ),
        b"\0\0\0\0",
        b"\0" * 44,
    )
    assert len(header) == 128
    return header + table + data


def _xy_to_xyz(x: float, y: float) -> np.ndarray:
    return np.array([x / y, 1.0, (1 - x - y) / y])


def _d50_colorants() -> np.ndarray:
    """RGB->XYZ matrix for D65 white (columns are the colorants), Bradford-adapted to D50."""
    primaries = np.column_stack([_xy_to_xyz(x, y) for x, y in _PRIMARIES])
    white = _xy_to_xyz(*_D65)
    scale = np.linalg.solve(primaries, white)
    rgb_to_xyz = primaries * scale
    source_cone = _BRADFORD @ white
    target_cone = _BRADFORD @ np.array(_D50_XYZ)
    adapt = np.linalg.inv(_BRADFORD) @ np.diag(target_cone / source_cone) @ _BRADFORD
    return adapt @ rgb_to_xyz


def _s15f16(values: tuple[float, ...] | np.ndarray) -> bytes:
    return b"".join(struct.pack(">i", round(float(v) * 65536)) for v in values)


def _xyz(values: tuple[float, ...] | np.ndarray) -> bytes:
    return b"XYZ \0\0\0\0" + _s15f16(values)


def _curve() -> bytes:
    return b"curv\0\0\0\0" + struct.pack(">IH", 1, _GAMMA_U8F8)


def _text(text: str) -> bytes:
    return b"text\0\0\0\0" + text.encode("ascii") + b"\0"


def _desc(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    # ICC v2 textDescriptionType: ASCII, then empty Unicode and ScriptCode parts (67 bytes of script code).
    return (b"desc\0\0\0\0" + struct.pack(">I", len(ascii_text)) + ascii_text
            + struct.pack(">II", 0, 0) + struct.pack(">HB", 0, 0) + b"\0" * 67)


# --- Display P3 and sRGB (decode tests and wide-gamut phone photos), and 16-bit conversion.

# Display P3 primaries (DCI-P3 with a D65 white) adapted to D50, as Apple's Display P3 profile stores them.
_DISPLAY_P3 = ((0.51512, 0.24120, -0.00105), (0.29198, 0.69225, 0.04189), (0.15710, 0.06657, 0.78407))


def display_p3_profile() -> bytes:
    """An ICC v2 display profile for Display P3 (the wide gamut phones shoot in), with the sRGB tone curve."""
    x = np.linspace(0.0, 1.0, 1024)
    linear = np.where(x <= 0.04045, x / 12.92, np.power((x + 0.055) / 1.055, 2.4))
    curve = b"curv\0\0\0\0" + struct.pack(">I", len(x)) + np.rint(linear * 65535).astype(">u2").tobytes()
    red, green, blue = _DISPLAY_P3
    tags = [
        (b"desc", _desc("Display P3")),
        (b"cprt", _text("No copyright, use freely. Built by packshot.")),
        (b"wtpt", _xyz(_D50_XYZ)),
        (b"rXYZ", _xyz(red)),
        (b"gXYZ", _xyz(green)),
        (b"bXYZ", _xyz(blue)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    shared: dict[bytes, int] = {}
    for signature, data in tags:
        if data not in shared:
            shared[data] = offset + len(body)
            body += data + b"\0" * (-len(data) % 4)
        table += struct.pack(">4sII", signature, shared[data], len(data))
    header = struct.pack(">I4sI4s4s4s", offset + len(body), b"\0\0\0\0", 0x02100000, b"mntr", b"RGB ", b"XYZ ")
    header += _FIXED_DATE + b"acsp" + b"\0" * 28 + _s15f16(_D50_XYZ)
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + body


@cache
def srgb_profile() -> bytes:
    """The sRGB profile every master and export embeds (LittleCMS's built-in sRGB), the same bytes in every run."""
    from PIL import ImageCms

    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    data[_DATE_TIME] = _FIXED_DATE
    return bytes(data)


@dataclass(frozen=True)
class MatrixProfile:
    """An RGB matrix/TRC profile: linear RGB -> XYZ (D50) and one tone curve per channel."""

    description: str
    matrix: np.ndarray  # 3x3, columns are the red, green and blue primaries in XYZ
    curves: tuple[np.ndarray, np.ndarray, np.ndarray]  # each a 4096-entry table: encoded [0,1] -> linear


def parse_matrix_profile(icc: bytes) -> MatrixProfile | None:
    """The matrix/TRC form of an RGB profile, or None when it is LUT-based, not RGB, or unreadable."""
    try:
        if len(icc) < 132 or icc[16:20] != b"RGB " or icc[36:40] != b"acsp":
            return None
        tags = _tag_table(icc)
        columns = []
        for name in (b"rXYZ", b"gXYZ", b"bXYZ"):
            data = tags[name]
            if data[:4] != b"XYZ ":
                return None
            columns.append([v / 65536 for v in struct.unpack(">iii", data[8:20])])
        curves = tuple(_decode_curve(tags[name]) for name in (b"rTRC", b"gTRC", b"bTRC"))
        if any(c is None for c in curves) or b"A2B0" in tags:
            # A profile with a LUT is more than a matrix: leave it to LittleCMS.
            return None
        description = _description(tags.get(b"desc", b""))
    except (KeyError, struct.error, ValueError, IndexError):
        return None
    return MatrixProfile(description, np.array(columns).T, curves)  # type: ignore[arg-type]


def convert_to_srgb16(pixels: np.ndarray, profile: MatrixProfile, rows_per_chunk: int = 256) -> np.ndarray:
    """(H, W, 3) uint16 in the profile's space -> uint16 sRGB, relative colorimetric (out-of-gamut clipped).

    Pillow's ImageCms works on 8-bit images only, so 16-bit masters are converted here with the same
    matrix/TRC maths LittleCMS uses for such profiles. Both tone curves are 65536-entry tables (decoding is
    exact per input code; encoding from linear light quantised to 1/65535 is off by under 0.03%), which keeps
    a 100 MP frame to a few seconds; row chunks bound the float memory.
    """
    srgb = parse_matrix_profile(srgb_profile())
    assert srgb is not None
    to_srgb = (np.linalg.inv(srgb.matrix) @ profile.matrix).T.astype(np.float32)
    codes = np.linspace(0.0, 1.0, 65536)
    index = np.linspace(0.0, 1.0, 4096)
    decode = [np.interp(codes, index, profile.curves[c]).astype(np.float32) * 65535.0 for c in range(3)]
    encode = np.rint(_srgb_encode(codes) * 65535.0).astype(np.uint16)
    out = np.empty_like(pixels, dtype=np.uint16)
    for top in range(0, pixels.shape[0], rows_per_chunk):
        block = pixels[top : top + rows_per_chunk]
        linear = np.stack([decode[c][block[..., c]] for c in range(3)], axis=-1)
        mapped = linear @ to_srgb
        np.clip(mapped, 0.0, 65535.0, out=mapped)
        out[top : top + rows_per_chunk] = encode[np.rint(mapped).astype(np.uint16)]
    return out


def _srgb_encode(linear: np.ndarray) -> np.ndarray:
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * np.power(linear, 1 / 2.4) - 0.055)


# --- reading


def _tag_table(icc: bytes) -> dict[bytes, bytes]:
    (count,) = struct.unpack(">I", icc[128:132])
    tags = {}
    for i in range(count):
        signature, offset, size = struct.unpack(">4sII", icc[132 + 12 * i : 144 + 12 * i])
        tags[signature] = icc[offset : offset + size]
    return tags


def _decode_curve(data: bytes) -> np.ndarray | None:
    x = np.linspace(0.0, 1.0, 4096)
    if data[:4] == b"curv":
        (n,) = struct.unpack(">I", data[8:12])
        if n == 0:
            return x
        if n == 1:
            (gamma,) = struct.unpack(">H", data[12:14])
            return np.power(x, gamma / 256)
        table = np.array(struct.unpack(f">{n}H", data[12 : 12 + 2 * n]), dtype=np.float64) / 65535.0
        return np.interp(x, np.linspace(0.0, 1.0, n), table)
    if data[:4] == b"para":
        (kind,) = struct.unpack(">H", data[8:10])
        counts = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}
        if kind not in counts:
            return None
        p = [v / 65536 for v in struct.unpack(f">{counts[kind]}i", data[12 : 12 + 4 * counts[kind]])]
        g = p[0]
        if kind == 0:
            return np.power(x, g)
        if kind == 1:
            a, b = p[1], p[2]
            return np.where(x >= -b / a, np.power(np.clip(a * x + b, 0, None), g), 0.0)
        if kind == 2:
            a, b, c = p[1], p[2], p[3]
            return np.where(x >= -b / a, np.power(np.clip(a * x + b, 0, None), g) + c, c)
        if kind == 3:
            a, b, c, d = p[1], p[2], p[3], p[4]
            return np.where(x >= d, np.power(np.clip(a * x + b, 0, None), g), c * x)
        a, b, c, d, e, f = p[1:7]
        return np.where(x >= d, np.power(np.clip(a * x + b, 0, None), g) + e, c * x + f)
    return None


def _description(data: bytes) -> str:
    if data[:4] == b"desc":
        (n,) = struct.unpack(">I", data[8:12])
        return data[12 : 12 + n].split(b"\0", 1)[0].decode("latin-1").strip()
    if data[:4] == b"mluc":
        count, _ = struct.unpack(">II", data[8:16])
        if count:
            _, length, offset = struct.unpack(">4sII", data[16:28])
            return data[offset : offset + length].decode("utf-16-be", "replace").strip()
    return ""
