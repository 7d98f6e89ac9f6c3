"""A DNG's camera profile (matrices, hue/saturation maps, tone curves), read from its tags and rendered to sRGB.

Why not LibRaw's colour. LibRaw develops a DNG with its ColorMatrix for D65 and white balance by channel gains,
then encodes: a colorimetric picture. A DNG carries more: ForwardMatrix1/2 (camera -> XYZ D50 at two
illuminants), ProfileHueSatMap (hue and saturation corrections the profile maker measured), ProfileLookTable (the
profile's "look"), BaselineExposure, and, when Adobe wrote it, the tone curve of the look in its XMP. Adobe's
converters, which rendered the preview a DNG carries and which the photographer judged the photo in, apply all of
them, plus a default S-shaped tone curve when the profile has none. On the Canon EOS 6D DNG in the real test
files, LibRaw came out 11% and 17% too bright in red and green; this rendering is within 3% of Adobe's preview on
every channel (tests/unit/test_real_files.py).

The order is the DNG specification's and the DNG SDK's (dng_render): camera values clipped at the camera white,
matrix to linear ProPhoto RGB at the as-shot white, hue/sat map, exposure, look table, tone curve (applied to
the largest and smallest channel, the middle one keeping its place between them, so hues hold), sRGB. Two
choices are measured rather than specified, each against that preview:
- No black subtraction ("Shadows 5", 0.5% of white, in the SDK's defaults): Adobe's process versions since 2012
  have no such slider, and with it the dark half of the frame came out 15-60% too dark.
- The look's point curve (the XMP's 0-255 points) is applied in ProPhoto's own gamma-1.8 encoding, after the
  default curve. Of gammas 1.0-2.2, 1.8 matched green and blue best (every region within 3.5%).
Not applied: the photographer's own edits in the XMP (exposure, contrast, white balance sliders), a look table the
XMP names only by digest, lens corrections, and Adobe's gamut mapping: colours outside sRGB are clipped.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from packshot.imaging.icc import _BRADFORD, _D50_XYZ, _srgb_encode, _xy_to_xyz, parse_matrix_profile, srgb_profile

# ProPhoto RGB (ROMM RGB, ISO 22028-2): the working space of Adobe's hue/sat maps and tone curves, D50 white.
_PROPHOTO_PRIMARIES = ((0.7347, 0.2653), (0.1596, 0.8404), (0.0366, 0.0001))
_PROPHOTO_GAMMA = 1.8
# Kelvin of the EXIF LightSource code a CalibrationIlluminant names: the CIE illuminants' correlated colour
# temperatures (A, B, C, D50-D75; tungsten is A), daylight and flash 5500 K, cloudy 6500 K, shade 7500 K, studio
# tungsten 3200 K, and the middle of the range EXIF gives each fluorescent class (12-16; 2 is "cool white").
_ILLUMINANT_KELVIN = {
    1: 5500.0, 2: 4150.0, 3: 2856.0, 4: 5500.0, 9: 5500.0, 10: 6500.0, 11: 7500.0,
    12: 6400.0, 13: 5050.0, 14: 4150.0, 15: 3525.0, 16: 2925.0,
    17: 2856.0, 18: 4874.0, 19: 6774.0, 20: 5503.0, 21: 6504.0, 22: 7504.0, 23: 5003.0, 24: 3200.0,
}
# White when a DNG names none (the DNG SDK's fallback): D55.
_D55_XY = (0.3324, 0.3474)
# Adobe's default tone curve for profiles without their own (the DNG SDK's dng_tone_curve_acr3_default), as a
# natural cubic spline through 19 points we fitted to it: within 0.0004 of it in linear light, 0.25 of 255 levels
# once sRGB-encoded.
_DEFAULT_TONE_CURVE = (
    (0.0, 0.0), (0.005, 0.004), (0.01, 0.0083), (0.02, 0.0211), (0.03, 0.0377), (0.05, 0.0772), (0.075, 0.1329),
    (0.1, 0.1953), (0.15, 0.3208), (0.2, 0.4293), (0.25, 0.5207), (0.3, 0.5972), (0.4, 0.7168), (0.5, 0.8049),
    (0.6, 0.8708), (0.7, 0.9202), (0.8, 0.9566), (0.9, 0.9828), (1.0, 1.0),
)
_CURVE_SAMPLES = 4096
# Hue/sat tables bigger than this many entries are not a camera profile (the Canon EOS 6D's are 2,700 and
# 4,608); ignoring them bounds the memory a crafted file can ask for.
_MAX_TABLE_ENTRIES = 1 << 18
_MAX_CURVE_POINTS = 1024
# Pixels rendered at once: each float32 working plane set is 12 MB, whatever the frame's width.
_CHUNK_PIXELS = 1 << 20

_CURVE_POINT = re.compile(rb"<rdf:li>\s*(\d{1,3})\s*,\s*(\d{1,3})\s*</rdf:li>")
_PROFILE_TAGS = (50721, 50722, 50723, 50724, 50727, 50728, 50729, 50730, 50778, 50779, 50936, 50937, 50938,
                 50939, 50940, 50964, 50965, 50981, 50982, 51107, 51108, 51109, 50931, 50932, 50879)


@dataclass(frozen=True)
class HueSatTable:
    """A ProfileHueSatMap or ProfileLookTable: per (value, hue, saturation) cell a hue shift in degrees, a
    saturation scale and a value scale, looked up in linear ProPhoto HSV."""

    divisions: tuple[int, int, int]  # values, hues, saturations
    deltas: np.ndarray  # (3, values x hues x saturations) float32: hue shifts, saturation and value scales
    srgb_values: bool = False  # the value axis is indexed in sRGB encoding (ProfileHueSatMapEncoding = 1)


@dataclass(frozen=True)
class DngProfile:
    """The camera profile and as-shot white of a three-colour DNG, as its tags state them."""

    name: str
    # XYZ -> camera at the two calibration illuminants, AnalogBalance and CameraCalibration applied.
    color_matrices: tuple[np.ndarray, np.ndarray]
    # AnalogBalance x CameraCalibration: "this camera" -> the reference camera the profile was made for.
    calibrations: tuple[np.ndarray, np.ndarray]
    temperatures: tuple[float, float]  # kelvin of illuminants 1 and 2 (equal when there is one matrix)
    forward_matrices: tuple[np.ndarray, np.ndarray] | None  # reference camera -> XYZ D50, white -> D50
    neutral: tuple[float, float, float] | None  # AsShotNeutral: the camera values of a white
    white_xy: tuple[float, float] | None  # AsShotWhiteXY, used when there is no AsShotNeutral
    hue_sat_maps: tuple[HueSatTable, HueSatTable] | None
    look_table: HueSatTable | None
    tone_curve: tuple[tuple[float, float], ...]  # ProfileToneCurve, else Adobe's default
    look_curve: tuple[tuple[float, float], ...] | None  # the XMP look's point curve, 0-1 both ways
    exposure: float  # BaselineExposure + BaselineExposureOffset, in EV

    @property
    def summary(self) -> str:
        parts = [f"DNG camera profile \"{self.name}\"" if self.name else "DNG camera profile"]
        parts.append("ForwardMatrix" if self.forward_matrices else "ColorMatrix")
        if self.hue_sat_maps:
            parts.append("HueSatMap")
        if self.look_table:
            parts.append("LookTable")
        if self.look_curve:
            parts.append("look tone curve")
        return ", ".join(parts)


@dataclass(frozen=True)
class _Rendering:
    """A profile resolved for its white: everything the per-pixel work needs."""

    camera_white: np.ndarray  # (3,) camera values are clipped here (the SDK's "camera white")
    camera_to_prophoto: np.ndarray  # (3, 3)
    hue_sat_map: HueSatTable | None
    look_table: HueSatTable | None
    exposure_gain: float  # >= 1: linear gain before the tone curve, clipped at 1
    tone: np.ndarray  # (_CURVE_SAMPLES,) linear ProPhoto -> linear ProPhoto
    prophoto_to_srgb: np.ndarray  # (3, 3)


def read_dng_profile(data: bytes) -> DngProfile | None:
    """The camera profile in a DNG's IFD0, or None when it has no usable three-colour one (then LibRaw's own
    colour develops it). Malformed or oversized profile tags count as none."""
    import tifffile

    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            page = tif.pages[0]
            if not isinstance(page, tifffile.TiffPage):
                raise ValueError("IFD0 is not a page")
            tags = page.tags
            values = {code: _tag_values(tags[code]) for code in _PROFILE_TAGS if code in tags}
            xmp = tags[700].value if 700 in tags else b""
        profile = _profile(values, xmp if isinstance(xmp, bytes) else b"")
        if profile is not None:
            _resolve(profile)  # a profile that cannot be resolved (singular, non-finite) is no profile
        return profile
    except (tifffile.TiffFileError, ValueError, TypeError, KeyError, IndexError, OverflowError,
            ZeroDivisionError, AttributeError, np.linalg.LinAlgError):
        return None


def render_dng(camera: np.ndarray, profile: DngProfile) -> np.ndarray:
    """(H, W, 3) uint16 linear camera values (0 = black, 65535 = white level) -> (H, W, 3) uint16 sRGB."""
    rendering = _resolve(profile)
    out = np.empty(camera.shape, dtype=np.uint16)
    to_prophoto = (rendering.camera_to_prophoto / 65535.0).astype(np.float32)
    clip = (rendering.camera_white * 65535.0).astype(np.float32)[:, None]
    to_srgb = rendering.prophoto_to_srgb.astype(np.float32)
    encode = _srgb_encoding_table()
    rows = max(1, _CHUNK_PIXELS // max(camera.shape[1], 1))
    for top in range(0, camera.shape[0], rows):
        block = camera[top : top + rows]
        # Planar (3, N) float32: every step below is a run over contiguous channel rows.
        rgb = np.minimum(block.reshape(-1, 3).T.astype(np.float32), clip)
        rgb = np.clip(to_prophoto @ rgb, 0.0, 1.0)
        if rendering.hue_sat_map is not None:
            rgb = _apply_hue_sat(rgb, rendering.hue_sat_map)
        rgb = np.minimum(rgb * np.float32(rendering.exposure_gain), np.float32(1.0))
        if rendering.look_table is not None:
            rgb = _apply_hue_sat(rgb, rendering.look_table)
        rgb = _tone_keeping_hue(rgb, rendering.tone)
        linear = np.clip(to_srgb @ rgb, 0.0, 1.0)
        out[top : top + rows] = encode[np.rint(linear.T * 65535.0).astype(np.uint16)].reshape(block.shape)
    return out


@cache
def _srgb_encoding_table() -> np.ndarray:
    """Linear light in steps of 1/65535 -> 16-bit sRGB code (as icc.convert_to_srgb16 encodes)."""
    return np.rint(_srgb_encode(np.linspace(0.0, 1.0, 65536)) * 65535.0).astype(np.uint16)


# --- reading the tags


def _tag_values(tag: Any) -> np.ndarray | bytes | str:
    """A tag's numbers as float64 (rationals divided out), or its bytes / text as they are."""
    value = tag.value
    if isinstance(value, (bytes, str)):
        return value
    numbers = np.asarray(value if isinstance(value, (tuple, list, np.ndarray)) else (value,), dtype=np.float64)
    if int(tag.dtype) in (5, 10):  # RATIONAL, SRATIONAL: numerator, denominator pairs
        if numbers.size % 2:
            raise ValueError("odd rational count")
        pairs = numbers.reshape(-1, 2)
        if np.any(pairs[:, 1] == 0):
            raise ZeroDivisionError("rational with denominator 0")
        numbers = pairs[:, 0] / pairs[:, 1]
    if not np.all(np.isfinite(numbers)):
        raise ValueError("non-finite tag value")
    return numbers


def _numbers(values: dict[int, Any], code: int, count: int) -> np.ndarray | None:
    value = values.get(code)
    if not isinstance(value, np.ndarray):
        return None
    if value.size != count:
        raise ValueError(f"tag {code} has {value.size} values, not {count}")
    return value


def _profile(values: dict[int, Any], xmp: bytes) -> DngProfile | None:
    matrix1 = _numbers(values, 50721, 9)
    if matrix1 is None:
        return None  # no ColorMatrix1: monochrome, four-colour or not a DNG colour profile at all
    matrix2 = _numbers(values, 50722, 9)
    balance = _numbers(values, 50727, 3)
    analog = np.diag(balance) if balance is not None else np.eye(3)
    # CameraCalibration belongs to this camera body and is valid only with the profile it was made for.
    same_signature = values.get(50931) == values.get(50932)
    calibrations = []
    for code in (50723, 50724):
        calibration = _numbers(values, code, 9) if same_signature else None
        calibrations.append(analog @ (calibration.reshape(3, 3) if calibration is not None else np.eye(3)))
    kelvin1 = _kelvin(values.get(50778))
    kelvin2 = _kelvin(values.get(50779))
    forwards = [_numbers(values, code, 9) for code in (50964, 50965)]
    two = matrix2 is not None and kelvin1 > 0 and kelvin2 > 0 and kelvin1 != kelvin2
    if not two:
        matrix2, kelvin1, kelvin2 = matrix1, 5000.0, 5000.0
        forwards[1] = forwards[0]
        calibrations[1] = calibrations[0]
    assert matrix2 is not None
    color = [calibrations[i] @ _normalise_color_matrix(m.reshape(3, 3)) for i, m in enumerate((matrix1, matrix2))]
    forward = None
    if forwards[0] is not None or forwards[1] is not None:
        first = forwards[0] if forwards[0] is not None else forwards[1]
        second = forwards[1] if forwards[1] is not None else forwards[0]
        assert first is not None and second is not None
        forward = (_normalise_forward_matrix(first.reshape(3, 3)), _normalise_forward_matrix(second.reshape(3, 3)))
    order = [0, 1] if kelvin1 <= kelvin2 else [1, 0]
    kelvins = (kelvin1, kelvin2)
    neutral = _numbers(values, 50728, 3)
    if neutral is not None and np.any(neutral <= 0):
        neutral = None
    white = _numbers(values, 50729, 2)
    dims = _numbers(values, 50937, 3)
    hue_sat = None
    if dims is not None:
        maps = [_table(dims, values.get(code), _encoding(values.get(51107))) for code in (50938, 50939)]
        if maps[0] is not None:
            second_map = maps[1] if maps[1] is not None and two else maps[0]
            hue_sat = tuple((maps[0], second_map)[i] for i in order)
    look_dims = _numbers(values, 50981, 3)
    look = _table(look_dims, values.get(50982), _encoding(values.get(51108))) if look_dims is not None else None
    exposure = sum(float(values[c][0]) for c in (50730, 51109) if isinstance(values.get(c), np.ndarray))
    name = values.get(50936)
    # ColorimetricReference 1: the data are output-referred (already rendered), so no tone curve goes on top.
    output_referred = _numbers(values, 50879, 1) is not None and int(values[50879][0]) == 1
    linear = ((0.0, 0.0), (1.0, 1.0))
    return DngProfile(
        name=name.strip("\0 ") if isinstance(name, str) else "",
        color_matrices=(color[order[0]], color[order[1]]),
        calibrations=(calibrations[order[0]], calibrations[order[1]]),
        temperatures=(kelvins[order[0]], kelvins[order[1]]),
        forward_matrices=(forward[order[0]], forward[order[1]]) if forward else None,
        neutral=tuple(float(v) for v in neutral) if neutral is not None else None,  # type: ignore[arg-type]
        white_xy=(float(white[0]), float(white[1])) if white is not None and white[1] > 0 else None,
        hue_sat_maps=hue_sat,  # type: ignore[arg-type]
        look_table=look,
        tone_curve=linear if output_referred else _profile_tone_curve(values.get(50940)) or _DEFAULT_TONE_CURVE,
        look_curve=None if output_referred else _xmp_look_curve(xmp),
        exposure=float(np.clip(exposure, -10.0, 10.0)),
    )


def _kelvin(value: Any) -> float:
    return _ILLUMINANT_KELVIN.get(int(value[0]), 0.0) if isinstance(value, np.ndarray) and value.size else 0.0


def _encoding(value: Any) -> bool:
    return bool(isinstance(value, np.ndarray) and value.size and int(value[0]) == 1)


def _normalise_color_matrix(matrix: np.ndarray) -> np.ndarray:
    """Scale a ColorMatrix so that the PCS white reaches 1 in its largest camera channel (as the SDK does)."""
    peak = float(np.max(matrix @ np.array(_D50_XYZ)))
    if peak <= 0:
        raise ValueError("ColorMatrix maps white to no camera signal")
    return matrix / peak


def _normalise_forward_matrix(matrix: np.ndarray) -> np.ndarray:
    """Scale a ForwardMatrix's rows so that camera (1, 1, 1) maps to the D50 white exactly."""
    white = matrix @ np.ones(3)
    if np.any(white == 0):
        raise ValueError("ForwardMatrix maps white to zero")
    return np.diag(np.array(_D50_XYZ) / white) @ matrix


def _table(dims: np.ndarray, data: Any, srgb_values: bool) -> HueSatTable | None:
    hues, sats, vals = (int(v) for v in dims)
    vals = max(vals, 1)
    if not isinstance(data, np.ndarray) or hues < 1 or sats < 2 or hues * sats * vals > _MAX_TABLE_ENTRIES:
        return None
    if data.size != hues * sats * vals * 3:
        raise ValueError("hue/sat table size does not match its dimensions")
    deltas = np.ascontiguousarray(data.reshape(-1, 3).T, dtype=np.float32)
    return HueSatTable((vals, hues, sats), deltas, srgb_values and vals > 1)


def _profile_tone_curve(value: Any) -> tuple[tuple[float, float], ...] | None:
    if not isinstance(value, np.ndarray) or value.size % 2 or not 4 <= value.size <= 2 * _MAX_CURVE_POINTS:
        return None
    points = tuple((float(x), float(y)) for x, y in value.reshape(-1, 2))
    return points if _valid_curve(points) else None


def _xmp_look_curve(xmp: bytes) -> tuple[tuple[float, float], ...] | None:
    """The point curve of the look Adobe's converter rendered with (crs:Look), if the XMP holds one.

    Found with find(), not a lazy regex: "<crs:Look" repeated without its end made a regex search quadratic
    (80 KB of XMP took 10 s).
    """
    look = _element(xmp[: 1 << 20], b"crs:Look")
    curve = _element(look, b"crs:ToneCurvePV2012") if look else b""
    points = tuple((int(x) / 255, int(y) / 255) for x, y in _CURVE_POINT.findall(curve))
    if len(points) > _MAX_CURVE_POINTS or not _valid_curve(points) or all(x == y for x, y in points):
        return None
    return points


def _element(xml: bytes, name: bytes) -> bytes:
    """What lies between the first <name> (or <name ...>) and the </name> after it; b"" when there is none."""
    start = xml.find(b"<" + name)
    while start >= 0 and xml[start + len(name) + 1 : start + len(name) + 2] not in (b">", b" ", b"\n", b"\t", b"\r"):
        start = xml.find(b"<" + name, start + 1)
    end = xml.find(b"</" + name + b">", start) if start >= 0 else -1
    return xml[start:end] if end >= 0 else b""


def _valid_curve(points: Sequence[tuple[float, float]]) -> bool:
    xs = [x for x, _ in points]
    return (len(points) >= 2 and all(0.0 <= v <= 1.0 for p in points for v in p)
            and all(b > a for a, b in zip(xs, xs[1:], strict=False)))


# --- resolving the profile for the as-shot white


def _resolve(profile: DngProfile) -> _Rendering:
    white = _white_xy(profile)
    weight = _weight(profile, white)
    color = _mix(profile.color_matrices, weight)
    camera_white = color @ _xy_to_xyz(*white)
    if not camera_white.max() > 0:
        raise ValueError("the as-shot white gives no camera signal")
    camera_white = np.clip(camera_white / camera_white.max(), 0.001, 1.0)
    if profile.forward_matrices is not None:
        # Camera -> reference camera, white balanced there, then the profile's own matrix to XYZ D50.
        to_reference = np.linalg.inv(_mix(profile.calibrations, weight))
        reference_white = to_reference @ camera_white
        camera_to_pcs = _mix(profile.forward_matrices, weight) @ np.diag(1 / reference_white) @ to_reference
    else:
        # Invert the ColorMatrix after adapting XYZ from the white to D50 (Bradford), scaled so that the
        # camera white lands on the PCS white.
        pcs_to_camera = color @ _bradford(_xyz_to_xy(np.array(_D50_XYZ)), white)
        pcs_to_camera = pcs_to_camera / np.max(pcs_to_camera @ np.array(_D50_XYZ))
        camera_to_pcs = np.linalg.inv(pcs_to_camera)
    prophoto = _prophoto_to_pcs()
    hue_sat = None
    if profile.hue_sat_maps is not None:
        first, second = profile.hue_sat_maps
        deltas = first.deltas if first is second else weight * first.deltas + (1 - weight) * second.deltas
        hue_sat = HueSatTable(first.divisions, deltas.astype(np.float32), first.srgb_values)
    camera_to_prophoto = np.linalg.inv(prophoto) @ camera_to_pcs
    if not np.all(np.isfinite(camera_to_prophoto)):
        raise ValueError("the profile's matrices do not invert")
    srgb = parse_matrix_profile(srgb_profile())
    assert srgb is not None
    return _Rendering(
        camera_white=camera_white,
        camera_to_prophoto=camera_to_prophoto,
        hue_sat_map=hue_sat,
        look_table=profile.look_table,
        exposure_gain=2.0 ** max(profile.exposure, 0.0),
        tone=_tone_table(profile),
        prophoto_to_srgb=np.linalg.inv(srgb.matrix) @ prophoto,
    )


def _white_xy(profile: DngProfile) -> tuple[float, float]:
    """The as-shot white as a chromaticity: the one the neutral's camera values come from (iterated, since the
    matrix to use depends on the white), else AsShotWhiteXY, else D55."""
    if profile.neutral is None:
        return profile.white_xy or _D55_XY
    neutral = np.array(profile.neutral)
    last = previous = _xyz_to_xy(np.array(_D50_XYZ))
    for _ in range(30):
        xyz = np.linalg.solve(_mix(profile.color_matrices, _weight(profile, last)), neutral)
        if xyz.sum() <= 0:
            return _D55_XY
        current = _xyz_to_xy(xyz)
        if abs(current[0] - last[0]) + abs(current[1] - last[1]) < 1e-7:
            return current
        previous, last = last, current
    # Still moving after 30 passes: the white swings between two estimates; take their middle, as the SDK does.
    return (previous[0] + last[0]) / 2, (previous[1] + last[1]) / 2


def _weight(profile: DngProfile, white: tuple[float, float]) -> float:
    """How much of calibration 1 (the warmer) to use for a white: linear in inverse temperature."""
    low, high = profile.temperatures
    kelvin = _correlated_temperature(white)
    if low == high or kelvin <= low:
        return 1.0
    if kelvin >= high:
        return 0.0
    return (1 / kelvin - 1 / high) / (1 / low - 1 / high)


def _correlated_temperature(xy: tuple[float, float]) -> float:
    """McCamy's cubic (1992): within a few kelvin of the Planckian locus from 2,856 K to 6,504 K, the range the
    two calibrations span."""
    n = (xy[0] - 0.3320) / (0.1858 - xy[1]) if xy[1] != 0.1858 else 0.0
    return float(449 * n**3 + 3525 * n**2 + 6823.3 * n + 5520.33)


def _mix(pair: tuple[np.ndarray, np.ndarray], weight: float) -> np.ndarray:
    return weight * pair[0] + (1 - weight) * pair[1]


def _xyz_to_xy(xyz: np.ndarray) -> tuple[float, float]:
    total = float(xyz.sum())
    return float(xyz[0] / total), float(xyz[1] / total)


def _bradford(source: tuple[float, float], target: tuple[float, float]) -> np.ndarray:
    """XYZ under one white -> XYZ under another (linear Bradford), cone gains bounded to 0.1-10."""
    gains = np.clip((_BRADFORD @ _xy_to_xyz(*target)) / np.maximum(_BRADFORD @ _xy_to_xyz(*source), 1e-9), 0.1, 10)
    return np.asarray(np.linalg.inv(_BRADFORD) @ np.diag(gains) @ _BRADFORD)


@cache
def _prophoto_to_pcs() -> np.ndarray:
    primaries = np.column_stack([_xy_to_xyz(x, y) for x, y in _PROPHOTO_PRIMARIES])
    return np.asarray(primaries * np.linalg.solve(primaries, np.array(_D50_XYZ)))


def _tone_table(profile: DngProfile) -> np.ndarray:
    """Exposure darkening (negative exposure only), the profile's tone curve, then the look's point curve."""
    x = np.linspace(0.0, 1.0, _CURVE_SAMPLES)
    if profile.exposure < 0:
        # The SDK's negative exposure: a straight darkening below a quarter, then a quadratic that keeps white.
        slope = 2.0**profile.exposure
        a = 16 / 9 * (1 - slope)
        b = slope - a / 2
        x = np.where(x <= 0.25, x * slope, (a * x + b) * x + (1 - a - b))
    y = np.clip(_natural_spline(profile.tone_curve)(x), 0.0, 1.0)
    if profile.look_curve is not None:
        encoded = _natural_spline(profile.look_curve)(y ** (1 / _PROPHOTO_GAMMA))
        y = np.clip(encoded, 0.0, 1.0) ** _PROPHOTO_GAMMA
    return y.astype(np.float32)


def _natural_spline(points: Sequence[tuple[float, float]]) -> Callable[[np.ndarray], np.ndarray]:
    """The C2 cubic through the points with zero curvature at both ends (Adobe's curves are such splines)."""
    xs = np.array([p[0] for p in points])
    ys = np.array([p[1] for p in points])
    if len(xs) == 2:
        return lambda x: np.interp(x, xs, ys)
    h = np.diff(xs)
    system = np.zeros((len(xs), len(xs)))
    rhs = np.zeros(len(xs))
    system[0, 0] = system[-1, -1] = 1.0
    for i in range(1, len(xs) - 1):
        system[i, i - 1 : i + 2] = h[i - 1], 2 * (h[i - 1] + h[i]), h[i]
        rhs[i] = 3 * ((ys[i + 1] - ys[i]) / h[i] - (ys[i] - ys[i - 1]) / h[i - 1])
    c = np.linalg.solve(system, rhs)
    b = np.diff(ys) / h - h * (2 * c[:-1] + c[1:]) / 3
    d = np.diff(c) / (3 * h)

    def evaluate(x: np.ndarray) -> np.ndarray:
        i = np.clip(np.searchsorted(xs, x) - 1, 0, len(xs) - 2)
        t = x - xs[i]
        return np.asarray(ys[i] + t * (b[i] + t * (c[i] + t * d[i])))

    return evaluate


# --- per-pixel work, on (3, N) float32 planes of linear ProPhoto RGB in [0, 1]


def _rgb_to_hsv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hue in [0, 6), saturation and value, the SDK's way (hue 0 for greys)."""
    r, g, b = rgb
    value = np.maximum(np.maximum(r, g), b)
    gap = value - np.minimum(np.minimum(r, g), b)
    coloured = gap > 0
    safe_gap = np.where(coloured, gap, np.float32(1.0))
    hue = np.where(r == value, (g - b) / safe_gap, np.where(g == value, 2 + (b - r) / safe_gap, 4 + (r - g) / safe_gap))
    hue = np.where(hue < 0, hue + 6, hue)
    hue[~coloured] = 0.0
    saturation = gap / np.where(value > 0, value, np.float32(1.0))
    return hue, saturation, value


def _hsv_to_rgb(hue: np.ndarray, saturation: np.ndarray, value: np.ndarray) -> np.ndarray:
    """The inverse of _rgb_to_hsv: each channel is value less value x saturation x how far the hue is from it."""
    chroma = value * saturation
    out = np.empty((3, hue.size), dtype=np.float32)
    for channel, offset in enumerate((5.0, 3.0, 1.0)):
        k = np.mod(hue + np.float32(offset), np.float32(6.0))
        distance = np.clip(np.minimum(k, 4 - k), 0.0, 1.0)
        out[channel] = value - chroma * distance
    return out


def _apply_hue_sat(rgb: np.ndarray, table: HueSatTable) -> np.ndarray:
    """Shift hue, scale saturation and value by the table's cells around each pixel (linear interpolation on
    every axis; hue wraps)."""
    values, hues, sats = table.divisions
    hue, saturation, value = _rgb_to_hsv(rgb)
    # Cell indices as intp (np.take's own type) and fractions as float32: an int32 index would make every
    # fraction float64 and every gather convert its indices.
    hue_at = hue * np.float32(hues / 6) if hues > 1 else np.zeros_like(hue)
    h0 = np.minimum(np.floor(hue_at), np.float32(hues - 1))
    hf = hue_at - h0
    h0_index = h0.astype(np.intp)
    h1_index = np.where(h0_index == hues - 1, 0, h0_index + 1)
    sat_at = saturation * np.float32(sats - 1)
    s0 = np.minimum(np.floor(sat_at), np.float32(sats - 2))
    sf = sat_at - s0
    s0_index = s0.astype(np.intp)
    encoded = _srgb_encode(value).astype(np.float32) if table.srgb_values else value
    # Each value layer: the index of its first cell row (value x hues) and its weight (None: the only layer).
    layers: list[tuple[np.ndarray | int, np.ndarray | None]] = [(0, None)]
    if values > 1:
        val_at = encoded * np.float32(values - 1)
        v0 = np.minimum(np.floor(val_at), np.float32(values - 2))
        vf = val_at - v0
        v0_rows = v0.astype(np.intp) * hues
        layers = [(v0_rows, 1 - vf), (v0_rows + hues, vf)]
    delta = np.zeros((3, hue.size), dtype=np.float32)
    for row, v_weight in layers:
        for h_index, h_weight in ((h0_index, 1 - hf), (h1_index, hf)):
            weight = h_weight if v_weight is None else h_weight * v_weight
            cell = (row + h_index) * sats + s0_index
            for s_weight in (1 - sf, sf):
                corner = weight * s_weight
                for i in range(3):
                    delta[i] += np.take(table.deltas[i], cell) * corner
                cell = cell + 1
    hue = hue + delta[0] * np.float32(6 / 360)
    saturation = np.minimum(saturation * delta[1], np.float32(1.0))
    encoded = np.clip(encoded * delta[2], 0.0, 1.0)
    value = _srgb_decode(encoded) if table.srgb_values else encoded
    return _hsv_to_rgb(hue, saturation, value)


def _srgb_decode(encoded: np.ndarray) -> np.ndarray:
    return np.where(encoded <= 0.04045, encoded / 12.92, ((encoded + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _tone_keeping_hue(rgb: np.ndarray, tone: np.ndarray) -> np.ndarray:
    """The curve on the largest and smallest channel; the middle one keeps its relative place between them."""
    high = np.maximum(np.maximum(rgb[0], rgb[1]), rgb[2])
    low = np.minimum(np.minimum(rgb[0], rgb[1]), rgb[2])
    high_out, low_out = _lookup(tone, high), _lookup(tone, low)
    spread = high - low
    # Greys (spread 0) get curve(value) on all three: share is 0 and high_out equals low_out.
    scale = (high_out - low_out) / np.where(spread > 0, spread, np.float32(1.0))
    return np.asarray(low_out + (rgb - low) * scale, dtype=np.float32)


def _lookup(table: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Linear interpolation in a table sampled evenly over [0, 1] (np.interp's binary search is 3x slower)."""
    at = x * np.float32(len(table) - 1)
    below = np.minimum(np.floor(at), np.float32(len(table) - 2))
    index = below.astype(np.intp)
    low = np.take(table, index)
    return low + (at - below) * (np.take(table, index + 1) - low)
