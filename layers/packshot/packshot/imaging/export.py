"""Render and verify the file each marketplace receives: size, format, profile, pure white background."""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

from packshot.imaging.finish import composite_on_white, fill_ratio


@dataclass(frozen=True)
class PlatformSpec:
    """What one marketplace accepts for a product image."""

    name: str
    format: str  # "JPEG" | "PNG"
    size: tuple[int, int] | None  # exact canvas (w, h), or None to keep the canvas within the side limits
    min_longest_side: int
    max_longest_side: int
    background_white: bool
    fill: float
    max_bytes: int
    extension: str


_MB = 1024 * 1024

# The platform rules in one place (a later change moves them to a data file). Sources: the
# marketplace rules table in /work/shared/FACTS.md; "official" there means the platform's own docs.
PLATFORMS: dict[str, PlatformSpec] = {
    # Amazon main image: longest side 1000 (zoom) to 10000 px, pure white, ~85% fill, 10 MB.
    "amazon_main": PlatformSpec("amazon_main", "JPEG", None, 1000, 10_000, True, 0.85, 10 * _MB, "jpg"),
    # Shopify: 2048x2048 recommended square; under 20 MB and 4472 px a side.
    "shopify": PlatformSpec("shopify", "JPEG", (2048, 2048), 2048, 4472, True, 0.85, 20 * _MB, "jpg"),
    # Walmart: 2200x2200, seamless white, at most 5 MB, RGB 8 bit.
    "walmart": PlatformSpec("walmart", "JPEG", (2200, 2200), 2200, 2200, True, 0.85, 5 * _MB, "jpg"),
    # A lossless master with the cutout's transparency kept, for channels that composite themselves.
    "transparent_png": PlatformSpec(
        "transparent_png", "PNG", None, 1000, 10_000, False, 0.85, 20 * _MB, "png"
    ),
}

JPEG_QUALITY = 92
# Quality steps tried when a file comes out over the platform's byte limit.
_FALLBACK_QUALITIES = (88, 84, 80)
# JPEG codes 8x8 blocks; with 4:4:4 (no chroma subsampling) a block that is all 255 decodes to
# exactly 255 at these qualities, while 4:2:0 would blur chroma across 16x16 and tint the white.
_BLOCK = 8
_FAINT_ALPHA = 3


@dataclass(frozen=True)
class ExportCheck:
    """Result of checking an exported file against its platform, read back from the bytes."""

    ok: bool
    problems: tuple[str, ...]
    width: int
    height: int
    bytes: int
    fill: float


def render_export(rgb: np.ndarray, alpha: np.ndarray, spec: PlatformSpec) -> bytes:
    """Turn the finished canvas (crop_to_fill output) into the platform's file bytes.

    White-background platforms get the product composited on white, sized, and encoded as sRGB
    with the profile embedded; background pixels are forced to 255 after resampling, so every
    8x8 JPEG block that holds no product decodes to exactly 255 (checked after encoding).
    Background pixels that share a block with the product edge carry JPEG ringing, as in any JPEG.
    """
    canvas_rgb, canvas_alpha = _sized(rgb, alpha, spec)
    if spec.format == "PNG" and not spec.background_white:
        pixels = np.dstack((canvas_rgb, canvas_alpha))
        return _encode(pixels, spec, JPEG_QUALITY)
    # Alpha of 1-3 (under 1.2%) is resampling ringing, invisible but enough to turn 255 into 254:
    # make it background so the white stays exact.
    canvas_alpha = np.where(canvas_alpha <= _FAINT_ALPHA, 0, canvas_alpha).astype(np.uint8)
    flat = composite_on_white(canvas_rgb, canvas_alpha)
    if spec.format == "PNG":
        return _encode(flat, spec, JPEG_QUALITY)

    pure = _pure_background_blocks(canvas_alpha)
    data = b""
    for quality in (JPEG_QUALITY, *_FALLBACK_QUALITIES):
        data = _encode(flat, spec, quality)
        if len(data) <= spec.max_bytes:
            break
    decoded = _decode_rgb(data)
    if not (decoded[pure] == 255).all():
        # Has not happened at quality >= 80 with 4:4:4; if a codec ever differs, trade size for
        # exactness rather than ship a grey background.
        data = _encode(flat, spec, 100)
    return data


def verify_export(data: bytes, spec: PlatformSpec, expected_alpha: np.ndarray | None = None) -> ExportCheck:
    """Decode exported bytes and list every way they miss the platform's rules."""
    problems: list[str] = []
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            fmt, mode = image.format, image.mode
            pixels = np.array(image)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        return ExportCheck(False, (f"the file does not decode: {exc}",), 0, 0, len(data), 0.0)
    height, width = pixels.shape[:2]
    if fmt != spec.format:
        problems.append(f"format is {fmt}, {spec.name} needs {spec.format}")
    if spec.size is not None and (width, height) != spec.size:
        problems.append(f"size is {width}x{height}, {spec.name} needs {spec.size[0]}x{spec.size[1]}")
    longest = max(width, height)
    if not spec.min_longest_side <= longest <= spec.max_longest_side:
        problems.append(
            f"longest side {longest} px is outside {spec.min_longest_side}-{spec.max_longest_side} px"
        )
    if len(data) > spec.max_bytes:
        problems.append(f"file is {len(data)} bytes, over the {spec.max_bytes} byte limit")
    wanted_mode = "RGB" if spec.background_white else "RGBA"
    if mode != wanted_mode:
        problems.append(f"colour mode is {mode}, expected {wanted_mode}")

    resized_alpha = None
    if expected_alpha is not None:
        resized_alpha = _resize_alpha(expected_alpha, spec, (width, height))
        fill = fill_ratio(resized_alpha)
    elif mode == "RGBA":
        fill = fill_ratio(pixels[:, :, 3])
    else:
        # Without a mask, anything visibly off-white is product.
        grey = pixels if pixels.ndim == 2 else pixels[:, :, :3].min(axis=2)
        fill = fill_ratio(np.where(grey < 245, 255, 0).astype(np.uint8))

    if spec.background_white and mode == "RGB":
        ring = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
        off = int(np.count_nonzero(ring.min(axis=1) < 255))
        if off:
            problems.append(f"{off} pixels on the image edge are not pure white 255,255,255")
        if resized_alpha is not None:
            pure = _pure_background_blocks(resized_alpha) if fmt == "JPEG" else resized_alpha == 0
            bad = int(np.count_nonzero(pixels[pure].min(axis=1) < 255))
            if bad:
                problems.append(f"{bad} background pixels are not pure white 255,255,255")
    return ExportCheck(not problems, tuple(problems), width, height, len(data), round(fill, 4))


def output_size(width: int, height: int, spec: PlatformSpec) -> tuple[int, int]:
    """The (w, h) the platform gets for a canvas of width x height."""
    if spec.size is not None:
        return spec.size
    longest = max(width, height)
    target = min(max(longest, spec.min_longest_side), spec.max_longest_side)
    if target == longest:
        return width, height
    scale = target / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def _sized(rgb: np.ndarray, alpha: np.ndarray, spec: PlatformSpec) -> tuple[np.ndarray, np.ndarray]:
    rgb, alpha = _pad_to_aspect(rgb, alpha, spec)
    size = output_size(alpha.shape[1], alpha.shape[0], spec)
    if size == (alpha.shape[1], alpha.shape[0]):
        return rgb, alpha
    # LANCZOS keeps product detail when upscaling to 1000 px and when downscaling 24 MP frames.
    out_rgb = np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).resize(size, Image.Resampling.LANCZOS))
    return np.array(out_rgb), _resize_plain(alpha, size)


def _pad_to_aspect(rgb: np.ndarray, alpha: np.ndarray, spec: PlatformSpec) -> tuple[np.ndarray, np.ndarray]:
    """Pad with background so the canvas has the platform's aspect ratio; no product is stretched."""
    if spec.size is None:
        return rgb, alpha
    height, width = alpha.shape
    target_w, target_h = spec.size
    if abs(width * target_h - height * target_w) < max(target_w, target_h):
        return rgb, alpha
    new_w = max(width, round(height * target_w / target_h))
    new_h = max(height, round(width * target_h / target_w))
    out_rgb = np.full((new_h, new_w, 3), 255, dtype=np.uint8)
    out_alpha = np.zeros((new_h, new_w), dtype=np.uint8)
    top, left = (new_h - height) // 2, (new_w - width) // 2
    out_rgb[top : top + height, left : left + width] = rgb
    out_alpha[top : top + height, left : left + width] = alpha
    return out_rgb, out_alpha


def _resize_plain(alpha: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return np.array(Image.fromarray(np.ascontiguousarray(alpha)).resize(size, Image.Resampling.LANCZOS))


def _resize_alpha(alpha: np.ndarray, spec: PlatformSpec, size: tuple[int, int]) -> np.ndarray:
    """The expected mask at the output size, made the way render_export makes it."""
    if alpha.shape != (size[1], size[0]):
        dummy = np.zeros((*alpha.shape, 3), dtype=np.uint8)
        _, alpha = _pad_to_aspect(dummy, alpha, spec)
        if alpha.shape != (size[1], size[0]):
            alpha = _resize_plain(alpha, size)
    return np.where(alpha <= _FAINT_ALPHA, 0, alpha).astype(np.uint8)


def _pure_background_blocks(alpha: np.ndarray) -> np.ndarray:
    """Background pixels whose 8x8 JPEG block holds no product at all (alpha 0 throughout)."""
    height, width = alpha.shape
    pad_h, pad_w = -height % _BLOCK, -width % _BLOCK
    padded = np.pad(alpha, ((0, pad_h), (0, pad_w)))
    blocks = padded.reshape(padded.shape[0] // _BLOCK, _BLOCK, padded.shape[1] // _BLOCK, _BLOCK)
    empty = ~blocks.any(axis=(1, 3))
    full = np.repeat(np.repeat(empty, _BLOCK, axis=0), _BLOCK, axis=1)
    return full[:height, :width]


@cache
def _srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _encode(pixels: np.ndarray, spec: PlatformSpec, quality: int) -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(np.ascontiguousarray(pixels))
    if spec.format == "JPEG":
        image.save(
            buffer,
            format="JPEG",
            quality=quality,
            subsampling=0,  # 4:4:4, see _BLOCK
            optimize=True,
            icc_profile=_srgb_icc(),
        )
    elif spec.format == "PNG":
        image.save(buffer, format="PNG", compress_level=6, icc_profile=_srgb_icc())
    else:
        raise ValueError(f"{spec.name}: unsupported export format {spec.format}")
    return buffer.getvalue()


def _decode_rgb(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.array(image.convert("RGB"))
