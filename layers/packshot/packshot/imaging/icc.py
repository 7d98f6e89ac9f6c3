"""ICC profiles Pillow cannot make itself: Adobe RGB (1998), built as a minimal ICC v2 matrix/TRC profile."""

from __future__ import annotations

import struct
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
    return b"".join(struct.pack(">i", int(round(float(v) * 65536))) for v in values)


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
