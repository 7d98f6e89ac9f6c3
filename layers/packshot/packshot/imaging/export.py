"""Render and verify the files each marketplace receives: frame, size, colour space, format, byte limit."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Any

import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

from packshot.imaging.channels import channel_min
from packshot.imaging.finish import bounding_box, fill_ratio
from packshot.imaging.icc import adobe_rgb_1998_profile, srgb_profile
from packshot.imaging.masks import block_any
from packshot.platforms import FORMATS, PlatformSpec, load_platforms

__all__ = ["PLATFORMS", "ExportCheck", "Frames", "PlatformSpec", "Rendered", "output_size", "render", "render_export",
           "verify_export"]

# The shipped rules; the pipeline loads them again with a client's overrides merged in.
PLATFORMS: dict[str, PlatformSpec] = load_platforms()

JPEG_QUALITY = 92
# The quality search never goes below this: under it product detail visibly blocks, and a smaller
# frame at a good quality looks better than a full frame at a bad one.
MIN_QUALITY = 40
# JPEG codes 8x8 blocks; with 4:4:4 (no chroma subsampling) a block that is all 255 decodes to
# exactly 255, while 4:2:0 would blur chroma across 16x16 and tint the white. Lossy WebP is always
# 4:2:0 in 16x16 macroblocks, so its "pure" unit is 16.
_BLOCK = {"JPEG": 8, "WEBP": 16}
_FAINT_ALPHA = 3
# Half the width of Pillow's LANCZOS window, in input pixels when enlarging (times the scale when reducing).
_LANCZOS_SUPPORT = 3.0
_MAX_DOWNSCALES = 6
# Bisection steps of the quality search after its two probes: 51 qualities to within 3 in 4 steps.
_SEARCH_STEPS = 4
# Fill is verified to this tolerance: resampling moves the bbox edge by a pixel or two.
FILL_TOLERANCE = 0.03
_COLORANT_TOLERANCE = 0.002


@dataclass(frozen=True)
class Rendered:
    """One platform file: its bytes and what went into them."""

    format: str
    extension: str
    data: bytes
    width: int
    height: int
    quality: int | None  # None for lossless formats
    downscaled: bool
    alpha: np.ndarray  # the product mask at the output size, for verification
    # The file's pixels, decoded once for the white check, so verification does not decode it again.
    decoded: np.ndarray | None = None


@dataclass(frozen=True)
class ExportCheck:
    """Result of checking an exported file against its platform, read back from the bytes."""

    ok: bool
    problems: tuple[str, ...]
    width: int
    height: int
    bytes: int
    fill: float


# Frames already made from one canvas, shared by the renders of its platforms and formats: see render(). Each is
# (rgb, alpha) framed, or (image to encode, mask without faint alpha, alpha) sized.
Frames = dict[tuple[object, ...], tuple[Any, ...]]


def render(
    rgb: np.ndarray, alpha: np.ndarray, spec: PlatformSpec, fmt: str | None = None, frames: Frames | None = None
) -> Rendered:
    """Turn the finished canvas (crop_to_fill output) into one of the platform's files.

    White-background platforms get the product composited on white, framed to the platform's aspect and
    fill, sized, converted to the platform's colour space with the profile embedded. Background pixels
    are forced to 255 after resampling, so every JPEG/WebP block that holds no product decodes to exactly
    255 (checked after encoding). The byte limit is met by searching the encoder quality, and only when
    the lowest quality is still too big, by a smaller frame.

    `frames`, one dict per canvas (the same rgb and alpha objects, unchanged), lets the renders of several
    platforms and formats share work: a WebP and its JPEG fallback, or two platforms with the same aspect, fill,
    size and colour space, are framed, resampled and composited once. The pixels are the same either way.
    """
    fmt = (fmt or spec.format).upper()
    if fmt not in spec.formats:
        raise ValueError(f"{spec.name} does not take {fmt} (it takes {', '.join(spec.formats)})")
    frames = {} if frames is None else frames
    # A platform without an aspect keeps the canvas's: framed the same as one that asks for that aspect (Amazon's
    # main image and Shopify's square, on a square canvas), so both share the framing.
    aspect = spec.aspect if spec.aspect is not None else alpha.shape[1] / alpha.shape[0]
    canvas = (id(rgb), id(alpha), alpha.shape, aspect, spec.fill)
    framed_key: tuple[object, ...] = (*canvas, "framed")
    if framed_key not in frames:
        frames[framed_key] = _framed(rgb, alpha, spec)
    rgb, alpha = frames[framed_key]
    size = output_size(alpha.shape[1], alpha.shape[0], spec)
    floor = _smallest_size(size, spec)
    best: Rendered | None = None
    for _ in range(_MAX_DOWNSCALES + 1):
        key: tuple[object, ...] = (*canvas, size, spec.background, spec.colour_space)
        if key not in frames:
            frames[key] = _sized_pixels(rgb, alpha, size, spec)
        image, kept, sized_alpha = frames[key]
        candidate = _encode_within_limit(image, sized_alpha, kept, spec, fmt, downscaled=best is not None)
        if len(candidate.data) <= spec.max_bytes or size == floor:
            return candidate
        best = candidate
        # Bytes scale roughly with pixel count; aim a little under so one step usually suffices.
        factor = math.sqrt(spec.max_bytes / len(candidate.data)) * 0.9
        size = (max(floor[0], int(size[0] * factor)), max(floor[1], int(size[1] * factor)))
    assert best is not None
    return best


def render_export(rgb: np.ndarray, alpha: np.ndarray, spec: PlatformSpec, fmt: str | None = None) -> bytes:
    """The bytes of render(); kept for callers that need only the file."""
    return render(rgb, alpha, spec, fmt).data


def verify_export(
    data: bytes,
    spec: PlatformSpec,
    expected_alpha: np.ndarray | None = None,
    fmt: str | None = None,
    decoded: np.ndarray | None = None,
) -> ExportCheck:
    """Decode exported bytes and list every way they miss the platform's rules.

    `expected_alpha` is the product mask, either at the output size (Rendered.alpha) or the finished
    canvas's, which is then framed and sized the way render() does it. `decoded` is these bytes' pixels
    when the caller already decoded them (Rendered.decoded): the header is still read from the bytes.
    """
    problems: list[str] = []
    try:
        with Image.open(io.BytesIO(data)) as image:
            if decoded is None or decoded.shape[:2] != (image.height, image.width):
                image.load()
                decoded = np.array(image)
            decoded_format, mode, info = image.format, image.mode, dict(image.info)
            pixels = decoded
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        return ExportCheck(False, (f"the file does not decode: {exc}",), 0, 0, len(data), 0.0)
    height, width = pixels.shape[:2]
    wanted_formats = (fmt.upper(),) if fmt else spec.formats
    if decoded_format not in wanted_formats:
        problems.append(f"format is {decoded_format}, {spec.name} needs {' or '.join(wanted_formats)}")
    if spec.size is not None and (width, height) != spec.size:
        problems.append(f"size is {width}x{height}, {spec.name} needs {spec.size[0]}x{spec.size[1]}")
    elif spec.aspect is not None and abs(width / height - spec.aspect) > 1.5 / min(width, height):
        problems.append(f"aspect is {width}:{height}, {spec.name} needs {spec.aspect:.4f} (width / height)")
    longest, shortest = max(width, height), min(width, height)
    if not spec.min_longest_side <= longest <= spec.max_longest_side:
        problems.append(
            f"longest side {longest} px is outside {spec.min_longest_side}-{spec.max_longest_side} px"
        )
    if shortest < spec.min_shortest_side:
        problems.append(f"shortest side {shortest} px is under the {spec.min_shortest_side} px minimum")
    if spec.max_pixels is not None and width * height > spec.max_pixels:
        problems.append(f"{width * height} pixels is over the {spec.max_pixels} pixel limit")
    if len(data) > spec.max_bytes:
        problems.append(f"file is {len(data)} bytes, over the {spec.max_bytes} byte limit")
    wanted_mode = "RGB" if spec.background == "white" else "RGBA"
    if mode != wanted_mode:
        problems.append(f"colour mode is {mode}, expected {wanted_mode} (8 bits per channel)")
    problems.extend(_profile_problems(info.get("icc_profile"), spec))
    if spec.dpi is not None:
        dpi = info.get("dpi")
        if not dpi or any(abs(float(d) - spec.dpi) > 0.5 for d in dpi):
            problems.append(f"resolution is {dpi or 'unset'}, {spec.name} needs {spec.dpi} ppi")

    mask = None
    if expected_alpha is not None:
        mask = expected_alpha if expected_alpha.shape == (height, width) else _expected_alpha(expected_alpha, spec,
                                                                                            (width, height))
        fill = fill_ratio(mask)
    elif mode == "RGBA":
        fill = fill_ratio(pixels[:, :, 3])
    else:
        # Without a mask, anything visibly off-white is product.
        grey = pixels if pixels.ndim == 2 else channel_min(pixels[:, :, :3])
        fill = fill_ratio(np.where(grey < 245, 255, 0).astype(np.uint8))
    if spec.fill is not None and abs(fill - spec.fill) > FILL_TOLERANCE:
        problems.append(f"product fills {fill:.0%} of the longest side, {spec.name} needs {spec.fill:.0%}")

    if spec.pure_white_required and mode == "RGB":
        ring = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
        off = int(np.count_nonzero(channel_min(ring) < 255))
        if off:
            problems.append(f"{off} pixels on the image edge are not pure white 255,255,255")
        block = _BLOCK.get(str(decoded_format), 1)
        if mask is not None and _off_white_background(pixels, _product_blocks(mask, block), block):
            pure = _pure_background_blocks(mask, block)
            bad = int(np.count_nonzero(pure & (channel_min(pixels) < 255)))
            problems.append(f"{bad} background pixels are not pure white 255,255,255")
    return ExportCheck(not problems, tuple(problems), width, height, len(data), round(fill, 4))


def output_size(width: int, height: int, spec: PlatformSpec) -> tuple[int, int]:
    """The (w, h) the platform gets for a canvas of width x height (already at the platform's aspect)."""
    if spec.size is not None:
        return spec.size
    longest, shortest = max(width, height), min(width, height)
    up = max(1.0, spec.min_longest_side / longest, spec.min_shortest_side / shortest if shortest else 1.0)
    down = min(1.0, spec.max_longest_side / longest)
    if spec.max_pixels is not None:
        down = min(down, math.sqrt(spec.max_pixels / (width * height)))
    scale = up if up > 1.0 else down
    if scale == 1.0:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def _smallest_size(size: tuple[int, int], spec: PlatformSpec) -> tuple[int, int]:
    """The smallest frame the platform still accepts at this aspect: where downscaling must stop."""
    if spec.size is not None:
        return spec.size
    width, height = size
    longest, shortest = max(width, height), min(width, height)
    scale = min(1.0, max(spec.min_longest_side / longest, spec.min_shortest_side / shortest, 1 / longest))
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


def _framed(rgb: np.ndarray, alpha: np.ndarray, spec: PlatformSpec) -> tuple[np.ndarray, np.ndarray]:
    """Re-frame the canvas to the platform's aspect and fill; without a fill rule, only pad to the aspect."""
    height, width = alpha.shape
    aspect = spec.aspect if spec.aspect is not None else width / height
    box = bounding_box(alpha)
    if spec.fill is None or box is None:
        if spec.aspect is None or abs(width - height * aspect) < 1:
            return rgb, alpha
        new_w, new_h = max(width, round(height * aspect)), max(height, round(width / aspect))
        centre = (width / 2, height / 2)
    else:
        x0, y0, x1, y1 = box
        # The longest-side fill, max(bw / W, bh / H), equals the target on whichever side binds.
        new_h = max((y1 - y0) / spec.fill, (x1 - x0) / (spec.fill * aspect))
        new_w, new_h = max(x1 - x0, round(new_h * aspect)), max(y1 - y0, round(new_h))
        centre = ((x0 + x1) / 2, (y0 + y1) / 2)
    off_x, off_y = round(new_w / 2 - centre[0]), round(new_h / 2 - centre[1])
    if (new_w, new_h, off_x, off_y) == (width, height, 0, 0):
        return rgb, alpha  # crop_to_fill framed it so already (a square platform at the same fill): no copy
    out_rgb = np.full((new_h, new_w, 3), 255, dtype=np.uint8)
    out_alpha = np.zeros((new_h, new_w), dtype=np.uint8)
    cx0, cy0 = max(0, off_x), max(0, off_y)
    cx1, cy1 = min(new_w, off_x + width), min(new_h, off_y + height)
    src = (slice(cy0 - off_y, cy1 - off_y), slice(cx0 - off_x, cx1 - off_x))
    out_rgb[cy0:cy1, cx0:cx1] = rgb[src]
    out_alpha[cy0:cy1, cx0:cx1] = alpha[src]
    return out_rgb, out_alpha


def _resized(rgb: np.ndarray, alpha: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    if size == (alpha.shape[1], alpha.shape[0]):
        return rgb, alpha
    # LANCZOS keeps product detail when upscaling to 1000 px and when downscaling 24 MP frames. As one RGBA
    # image Pillow resamples premultiplied by alpha: the (white) colour under transparent pixels does not bleed
    # into the product's edge, which a transparent export would show as a light fringe on a dark page.
    # Only where the product is: see _resampled_rgba.
    width, height = size
    if not _across_first(alpha.shape, size):
        rgba = _rgba_image(rgb, alpha).resize(size, Image.Resampling.LANCZOS)
        return np.asarray(rgba.convert("RGB")), np.asarray(rgba.getchannel("A"))
    out_rgb, out_alpha = np.zeros((height, width, 3), np.uint8), np.zeros((height, width), np.uint8)
    box = bounding_box(alpha, threshold=1)
    if box is not None:
        rows, columns, strip = _resampled_rgba(rgb, alpha, box, size)
        # Pillow splits the channels (a C loop); numpy's strided copy out of RGBA costs three times as much.
        out_rgb[rows, columns] = np.asarray(strip.convert("RGB"))
        out_alpha[rows, columns] = np.asarray(strip.getchannel("A"))
    return out_rgb, out_alpha


def _resampled_rgba(
    rgb: np.ndarray, alpha: np.ndarray, box: tuple[int, int, int, int], size: tuple[int, int]
) -> tuple[slice, slice, Image.Image]:
    """Pillow's LANCZOS resize of the RGBA canvas to `size`, computed only where the product reaches: (the output
    rows and columns, an RGBA image of them). Every other output pixel is (0, 0, 0, 0), as there.

    Pillow resamples the premultiplied image in two passes, across then down, each output pixel a weighted sum of
    the input pixels in its filter window, rounded to 8 bits between the passes. Premultiplied, every pixel of
    alpha 0 is 0, and a window of zeros sums to 0. So the pass across is run on the product's rows alone (each
    row is resampled on its own, and every other row comes out 0) and the pass down on the columns it left
    non-zero alone (each column on its own). Each pass still sees the whole length of the axis it resamples:
    Pillow derives its weights from that length, and the same length gives the same weights bit for bit (a crop
    or a `box` offset would recompute them in floating point from other numbers), except where that arithmetic
    is exact (_exact_span): then a pass computes only the output span the product reaches. Shopify's 2048 px is
    such a size: on the evidence.cost canvases this takes 92 ms per Shopify frame where the whole resize took
    174 ms. Only the product's box is premultiplied and unpremultiplied.
    """
    x0, y0, x1, y1 = box
    in_height, in_width = alpha.shape
    width, height = size
    first, last = _columns_reached(x0, x1, in_width, width)
    top, bottom = _columns_reached(y0, y1, in_height, height)
    window = _exact_window(first, last, in_width, width)
    if window is None:
        rows = _rgba_image(rgb[y0:y1], alpha[y0:y1]).convert("RGBa")
        across = rows.resize((width, y1 - y0), Image.Resampling.LANCZOS).crop((first, 0, last, y1 - y0))
    else:
        lo, hi, start, end = window
        rows = _rgba_image(rgb[y0:y1, lo:hi], alpha[y0:y1, lo:hi]).convert("RGBa")
        across = rows.resize((last - first, y1 - y0), Image.Resampling.LANCZOS, box=(start, 0, end, y1 - y0))
    window = _exact_window(top, bottom, in_height, height)
    if window is None:
        tall = Image.new("RGBa", (last - first, in_height), 0)
        tall.paste(across, (0, y0))
        down = tall.resize((last - first, height), Image.Resampling.LANCZOS).crop((0, top, last - first, bottom))
    else:
        lo, hi, start, end = window
        tall = Image.new("RGBa", (last - first, hi - lo), 0)
        tall.paste(across, (0, y0 - lo))
        down = tall.resize((last - first, bottom - top), Image.Resampling.LANCZOS, box=(0, start, last - first, end))
    return slice(top, bottom), slice(first, last), down.convert("RGBA")


def _exact_span(first: int, last: int, in_size: int, out_size: int) -> tuple[float, float] | None:
    """The input span (start, end) whose resampling to last - first pixels gives exactly outputs [first, last) of
    the whole axis's resampling to out_size, or None when Pillow's arithmetic could round them apart.

    Pillow centres output i of a box (start, end), given as C floats, at start + (i + 0.5) * scale with
    scale = (end - start) / n in doubles. When in_size / out_size is a binary fraction (Shopify's 2048 px) and
    start = first * scale and end are exact floats, every one of those numbers is exact, so each window's centre,
    bounds and weights are bit for bit the whole axis's.
    """
    scale = Fraction(in_size, out_size)
    if scale.denominator & (scale.denominator - 1):
        return None  # not a binary fraction: the centres would be rounded, differently from the whole axis's
    start, end = first * scale, last * scale
    if any(Fraction(float(np.float32(value))) != value for value in (start, end, end - start)):
        return None
    return float(start), float(end)


def _exact_window(first: int, last: int, in_size: int, out_size: int) -> tuple[int, int, float, float] | None:
    """Where _exact_span holds, the input [lo, hi) that the windows of outputs [first, last) read, and that span
    from lo: (lo, hi, start - lo, end - lo). Resampling input[lo:hi] over the shifted span gives the same outputs
    bit for bit: the centres and window bounds move by the whole number lo, exactly, and a margin of two pixels
    keeps every window inside [lo, hi), so none is cut short (which would change its weights) unless the whole
    axis cuts it at the same edge. So a pass reads only the input near the product, not the whole axis."""
    span = _exact_span(first, last, in_size, out_size)
    if span is None:
        return None
    scale = in_size / out_size
    support = _LANCZOS_SUPPORT * max(scale, 1.0)
    lo = max(0, math.floor((first + 0.5) * scale - support) - 2)
    hi = min(in_size, math.ceil((last - 0.5) * scale + support) + 2)
    start, end = span[0] - lo, span[1] - lo
    if any(Fraction(float(np.float32(value))) != Fraction(value) for value in (start, end, end - start)):
        return None
    return lo, hi, start, end


def _across_first(shape: tuple[int, ...], size: tuple[int, int]) -> bool:
    """Whether Pillow resamples across before down for this resize, as _resampled_rgba assumes. Pillow 13 goes
    down first where the height shrinks by more than twice what the width does (its intermediate is then
    smaller); earlier releases always went across first, so both agree wherever this is True."""
    shrink_height, shrink_width = shape[0] - size[1], shape[1] - size[0]
    return not (shrink_height > 0 and shrink_height > 2 * shrink_width)


def _columns_reached(x0: int, x1: int, in_size: int, out_size: int) -> tuple[int, int]:
    """The output columns [first, last) whose LANCZOS window, resampling in_size to out_size, may hold an input
    column of [x0, x1): a few more than Pillow's (a column beyond them only sums zeros, exactly 0 either way)."""
    scale = in_size / out_size
    reach = _LANCZOS_SUPPORT * max(scale, 1.0) + 2  # Pillow's support, plus its rounding of the window's ends
    first = max(0, math.floor((x0 - reach) / scale - 0.5) - 1)
    last = min(out_size, math.ceil((x1 + reach) / scale - 0.5) + 1)
    return first, last


def _rgba_image(rgb: np.ndarray, alpha: np.ndarray) -> Image.Image:
    """One RGBA image of rgb and alpha, assembled by Pillow: 3x faster than np.dstack then fromarray."""
    return Image.merge("RGBA", (*Image.fromarray(np.ascontiguousarray(rgb)).split(),
                                Image.fromarray(np.ascontiguousarray(alpha))))


def _resize_plain(alpha: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return np.array(Image.fromarray(np.ascontiguousarray(alpha)).resize(size, Image.Resampling.LANCZOS))


def _expected_alpha(alpha: np.ndarray, spec: PlatformSpec, size: tuple[int, int]) -> np.ndarray:
    """The product mask at the output size, framed and resized the way render() does it."""
    dummy = np.full((*alpha.shape, 3), 255, dtype=np.uint8)
    _, framed = _framed(dummy, alpha, spec)
    if framed.shape != (size[1], size[0]):
        framed = _resize_plain(framed, size)
    return np.where(framed <= _FAINT_ALPHA, 0, framed).astype(np.uint8)


def _sized_pixels(
    rgb: np.ndarray, alpha: np.ndarray, size: tuple[int, int], spec: PlatformSpec
) -> tuple[Image.Image, np.ndarray, np.ndarray]:
    """_pixels of the frame resized to `size`, and the resized alpha: (image to encode, mask without faint alpha,
    alpha). On white, a resize that _resampled_rgba computes only where the product reaches is composited straight
    from its strip: the resized RGB frame is never assembled in numpy (12 MB at 2048 px) only to be copied back
    into Pillow. The same paste through the same faint-free mask, so the same pixels."""
    width, height = size
    if spec.background == "transparent" or size == (alpha.shape[1], alpha.shape[0]) or not _across_first(
            alpha.shape, size):
        sized_rgb, sized_alpha = _resized(rgb, alpha, size)
        return (*_pixels(sized_rgb, sized_alpha, spec), sized_alpha)
    sized_alpha, kept = np.zeros((height, width), np.uint8), np.zeros((height, width), np.uint8)
    image = Image.new("RGB", size, (255, 255, 255))
    box = bounding_box(alpha, threshold=1)
    if box is not None:
        rows, columns, strip = _resampled_rgba(rgb, alpha, box, size)
        strip_alpha = strip.getchannel("A")
        strip_kept = strip_alpha.point(_WITHOUT_FAINT)
        # Every pixel outside the strip is alpha 0. Pillow pastes an RGBA image into an RGB one as its RGB:
        # strip.convert("RGB") without the copy.
        sized_alpha[rows, columns], kept[rows, columns] = np.asarray(strip_alpha), np.asarray(strip_kept)
        image.paste(strip, (columns.start, rows.start), strip_kept)
    return _in_colour_space(image, spec), kept, sized_alpha


def _pixels(rgb: np.ndarray, alpha: np.ndarray, spec: PlatformSpec) -> tuple[Image.Image, np.ndarray]:
    """The image the encoder reads: RGB on white (or RGBA), in the platform's colour space; and the product mask
    without its faint alpha, the one verification checks against (both made once for every quality and format)."""
    # Alpha of 1-3 (under 1.2%) is resampling ringing, invisible but enough to turn 255 into 254:
    # make it background so the white stays exact.
    kept = _without_faint(alpha)
    if spec.background == "transparent":
        return _rgba_image(_to_colour_space(rgb, spec), alpha), kept
    height, width = kept.shape
    image = Image.new("RGB", (width, height), (255, 255, 255))
    box = bounding_box(kept, threshold=1)
    if box is not None:
        # Everything outside the product's box is alpha 0, which composites to exactly 255. Pillow's paste through
        # the mask blends as composite_on_white does, round((rgb * a + 255 * (255 - a)) / 255) (see its test),
        # straight into the image the encoder reads: no white frame in numpy to copy into Pillow afterwards.
        x0, y0, x1, y1 = box
        image.paste(Image.fromarray(np.ascontiguousarray(rgb[y0:y1, x0:x1])), (x0, y0),
                    Image.fromarray(np.ascontiguousarray(kept[y0:y1, x0:x1])))
    return _in_colour_space(image, spec), kept


def _in_colour_space(image: Image.Image, spec: PlatformSpec) -> Image.Image:
    """The sRGB image in the platform's colour space."""
    if spec.colour_space == "sRGB":
        return image
    converted = ImageCms.applyTransform(image, _srgb_to_adobe())
    assert converted is not None  # only a transform in place returns None
    return converted


def _without_faint(alpha: np.ndarray) -> np.ndarray:
    """alpha with the faint values (1.._FAINT_ALPHA, resampling ringing) made 0."""
    return alpha * (alpha > _FAINT_ALPHA)  # 10x faster than np.where(alpha <= _FAINT_ALPHA, 0, alpha)


# _without_faint as a Pillow point table, for an alpha band that is still a Pillow image.
_WITHOUT_FAINT = [0] * (_FAINT_ALPHA + 1) + list(range(_FAINT_ALPHA + 1, 256))


def _to_colour_space(rgb: np.ndarray, spec: PlatformSpec) -> np.ndarray:
    if spec.colour_space == "sRGB":
        return rgb  # the master is sRGB already (preprocess converted it)
    converted = ImageCms.applyTransform(Image.fromarray(np.ascontiguousarray(rgb)), _srgb_to_adobe())
    return np.array(converted)


def _encode_within_limit(
    image: Image.Image, alpha: np.ndarray, kept: np.ndarray, spec: PlatformSpec, fmt: str, downscaled: bool
) -> Rendered:
    """The highest encoder quality whose file fits the byte limit and (where required) keeps white exact.

    Bounded: the usual case is one encode at JPEG_QUALITY and one decode (the white check). When that file is
    too big, one encode at MIN_QUALITY tells whether any quality can fit at this size (if not, render() tries a
    smaller frame); only then a bisection of at most _SEARCH_STEPS encodes, each decoded only if it fits. So at
    most 2 + _SEARCH_STEPS encodes per frame size, where an open-ended search took up to 8 encodes and 8 decodes.
    """
    height, width = alpha.shape

    def made(data: bytes, quality: int | None, decoded: np.ndarray | None = None) -> Rendered:
        return Rendered(fmt, FORMATS[fmt], data, width, height, quality, downscaled, kept, decoded)

    if fmt not in _BLOCK:  # lossless: nothing to search
        return made(_encode(image, spec, fmt, None), None)
    block = _BLOCK[fmt]
    # The codec blocks that hold any product, faint alpha included (such a block may blend a little): every other
    # block must decode to pure white.
    held = _product_blocks(alpha, block) if spec.pure_white_required else None

    def attempt(quality: int) -> tuple[bytes, np.ndarray | None]:
        """The file at this quality, and its decoded pixels when it fits and keeps white exact (else None)."""
        data = _encode(image, spec, fmt, quality)
        if len(data) > spec.max_bytes:
            return data, None
        decoded = _decode_rgb(data)
        if held is not None and _off_white_background(decoded, held, block):
            return data, None
        return data, decoded

    data, decoded = attempt(JPEG_QUALITY)
    if decoded is not None:
        return made(data, JPEG_QUALITY, decoded)
    if len(data) <= spec.max_bytes:
        # It fits but a background block is off white. Has not happened at quality >= 80 with 4:4:4; if a
        # codec ever differs, trade size for exactness rather than ship a grey background.
        top, top_decoded = attempt(100)
        if top_decoded is not None:
            return made(top, 100, top_decoded)
    floor, floor_decoded = attempt(MIN_QUALITY)
    if len(floor) > spec.max_bytes:
        return made(floor, MIN_QUALITY)  # no quality fits this frame: render() makes it smaller
    # Bisection for the highest quality that fits and stays white (bytes fall almost monotonically with
    # quality), to within a few quality steps.
    best = (floor, MIN_QUALITY, floor_decoded) if floor_decoded is not None else None
    low, high = MIN_QUALITY + 1, JPEG_QUALITY - 1
    for _ in range(_SEARCH_STEPS):
        if low > high:
            break
        quality = (low + high) // 2
        candidate, candidate_decoded = attempt(quality)
        if candidate_decoded is not None:
            best = (candidate, quality, candidate_decoded)
            low = quality + 1
        else:
            high = quality - 1
    if best is not None:
        return made(*best)
    return made(floor, MIN_QUALITY)


def _product_blocks(alpha: np.ndarray, block: int) -> np.ndarray:
    """Whether each codec block (block x block pixels, partial at the right and bottom edges) holds product."""
    return _tile_reduce(alpha, block, block, np.maximum) != 0


def _off_white_background(pixels: np.ndarray, held: np.ndarray, block: int) -> bool:
    """Whether any pixel of an (H, W, 3) image is off pure white in a codec block that holds no product.

    The same answer as any(_pure_background_blocks(alpha, block) & (channel_min(pixels) < 255)), from the lowest
    value of each block over its pixels and channels: one pass over the file's pixels, three times faster than
    the per-pixel minimum and mask.
    """
    height, width = pixels.shape[:2]
    lowest = _tile_reduce(np.ascontiguousarray(pixels).reshape(height, width * 3), block, block * 3, np.minimum)
    return bool(np.any((lowest < 255) & ~held))


def _tile_reduce(values: np.ndarray, rows: int, cols: int, ufunc: np.ufunc) -> np.ndarray:
    """ufunc (np.minimum or np.maximum) reduced over each rows x cols tile of a 2-D array, the tiles at the right
    and bottom edges partial. Down the rows first (a reduction along the middle axis runs over whole rows), then
    across by one element-wise ufunc per column of a tile: both 2-3x faster than a reduction along a short axis."""
    height, width = values.shape
    whole = height - height % rows
    bands = ufunc.reduce(values[:whole].reshape(whole // rows, rows, width), axis=1)
    if whole < height:
        bands = np.concatenate([bands, ufunc.reduce(values[whole:], axis=0, keepdims=True)])
    whole = width - width % cols
    tiles = bands[:, 0:whole:cols].copy()
    for column in range(1, cols):
        ufunc(tiles, bands[:, column:whole:cols], out=tiles)
    if whole < width:
        tiles = np.concatenate([tiles, ufunc.reduce(bands[:, whole:], axis=1, keepdims=True)], axis=1)
    return tiles


def _pure_background_blocks(alpha: np.ndarray, block: int = 8) -> np.ndarray:
    """Background pixels whose codec block holds no product at all (alpha 0 throughout)."""
    height, width = alpha.shape
    if block <= 1:
        return alpha == 0
    held = block_any(alpha != 0, block)  # whether each codec block holds product
    full = np.repeat(np.repeat(~held, block, axis=0), block, axis=1)
    return full[:height, :width]


@cache
def _srgb_to_adobe() -> ImageCms.ImageCmsTransform:
    adobe = ImageCms.ImageCmsProfile(io.BytesIO(adobe_rgb_1998_profile()))
    # Relative colorimetric keeps in-gamut colours exact and white at 255; sRGB fits inside Adobe RGB.
    return ImageCms.buildTransform(ImageCms.createProfile("sRGB"), adobe, "RGB", "RGB",
                                   renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)


def _icc_for(spec: PlatformSpec) -> bytes:
    return adobe_rgb_1998_profile() if spec.colour_space == "Adobe RGB (1998)" else srgb_profile()


@cache
def _expected_red(colour_space: str) -> tuple[float, float, float]:
    data = adobe_rgb_1998_profile() if colour_space == "Adobe RGB (1998)" else srgb_profile()
    colorant = ImageCms.ImageCmsProfile(io.BytesIO(data)).profile.red_colorant
    assert colorant is not None  # both profiles are built here with their colorants
    return colorant[0]


def _profile_problems(icc: bytes | None, spec: PlatformSpec) -> list[str]:
    """The embedded profile must be there and be the platform's colour space (by its colorants, not its name)."""
    if not icc:
        return [f"no ICC profile embedded; {spec.name} needs {spec.colour_space}"]
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        colorant = profile.profile.red_colorant
        red = colorant[0] if colorant is not None else None
        description = ImageCms.getProfileDescription(profile).strip()
    except (OSError, TypeError, ValueError, ImageCms.PyCMSError) as exc:
        return [f"the embedded ICC profile does not load: {exc}"]
    expected = _expected_red(spec.colour_space)
    if red is None or any(abs(a - b) > _COLORANT_TOLERANCE for a, b in zip(red, expected, strict=True)):
        return [f"embedded profile '{description}' is not {spec.colour_space}"]
    return []


def _encode(image: Image.Image, spec: PlatformSpec, fmt: str, quality: int | None) -> bytes:
    buffer = io.BytesIO()
    extra: dict[str, object] = {"icc_profile": _icc_for(spec)}
    if spec.dpi is not None:
        extra["dpi"] = (spec.dpi, spec.dpi)
    if fmt == "JPEG":
        try:
            image.save(buffer, format="JPEG", quality=quality, subsampling=0, optimize=True, **extra)  # 4:4:4
        except OSError:
            # With optimize, libjpeg must hold the whole scan in Pillow's buffer of one byte per pixel; a
            # noisy 4:4:4 frame needs more ("Suspension not allowed here"). Unoptimised Huffman streams.
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=quality, subsampling=0, **extra)
    elif fmt == "WEBP":
        image.save(buffer, format="WEBP", quality=quality, method=4, **extra)
    elif fmt == "PNG":
        image.save(buffer, format="PNG", compress_level=6, **extra)
    elif fmt == "TIFF":
        # LZW: lossless and read by every print RIP; one flattened page.
        image.save(buffer, format="TIFF", compression="tiff_lzw", **extra)
    else:
        raise ValueError(f"{spec.name}: unsupported export format {fmt}")
    return buffer.getvalue()


def _decode_rgb(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        # convert() of an RGB image is a copy: read the pixels out of Pillow once, and keep numpy from copying
        # them again (asarray keeps Pillow's bytes, read-only: nothing writes to a decoded file's pixels).
        return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
