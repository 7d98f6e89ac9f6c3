"""Decode an uploaded photo into sRGB pixels, rejecting what we cannot or should not process."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from packshot.errors import (
    ImageTooLargeError,
    ImageTooSmallError,
    UndecodableImageError,
    UnsupportedImageError,
)
from packshot.imaging.finish import composite_on_white

SUPPORTED_FORMATS = frozenset({"JPEG", "PNG", "TIFF", "WEBP"})

# Exceptions Pillow raises from corrupt or truncated data (decoders use OSError, header parsers
# SyntaxError/ValueError, some plugins struct.error or EOFError).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError)

# Signatures of files people upload by mistake, so the reason names what was found.
_KNOWN_NON_IMAGES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"<svg", "an SVG drawing"),
    (b"<?xml", "an XML file (perhaps SVG)"),
)
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"avif", b"avis")


@dataclass(frozen=True)
class DecodedImage:
    """An upload decoded to sRGB: pixels are (H, W, 3) uint8 with EXIF orientation already applied."""

    pixels: np.ndarray
    format: str
    source_mode: str
    width: int
    height: int
    icc_profile: str | None  # description of the embedded source profile, None when there was none
    exif_orientation: int  # the orientation tag as found (1 = upright); the pixels are already upright


def decode_image(data: bytes, *, min_side: int = 1000, max_pixels: int = 100_000_000) -> DecodedImage:
    """Decode upload bytes to upright sRGB RGB uint8, or raise an ImageRejectedError saying why not."""
    if not data:
        raise UndecodableImageError("the file is empty (0 bytes); upload the photo again")
    image = _open(data)
    try:
        width, height = image.size
        fmt = image.format or "unknown"
        # The header alone gives the size: reject bombs before a single pixel is allocated.
        if width * height > max_pixels:
            raise ImageTooLargeError(
                f"{width}x{height} px is {width * height / 1e6:.0f} MP, over the {max_pixels / 1e6:.0f} MP limit;"
                " downscale the photo before uploading"
            )
        if fmt not in SUPPORTED_FORMATS:
            raise UnsupportedImageError(
                f"the file is a {fmt} image; upload a JPEG, PNG, TIFF or WebP photo instead"
            )
        frames = getattr(image, "n_frames", 1)
        if frames > 1:
            kind = "pages" if fmt == "TIFF" else "frames"
            raise UnsupportedImageError(
                f"the {fmt} file has {frames} {kind}; upload a single still photo per file"
            )
        # Orientation only swaps width and height, so the longest side is known before decoding;
        # checking it here saves decoding a photo we are going to refuse anyway.
        longest = max(width, height)
        if longest < min_side:
            raise ImageTooSmallError(
                f"longest side {longest} px is under the {min_side} px minimum marketplaces need for zoom;"
                " upload a larger original"
            )
        source_mode = image.mode
        orientation = _orientation(image)
        icc = image.info.get("icc_profile")
        try:
            image.load()
        except Image.DecompressionBombError as exc:
            raise ImageTooLargeError(f"Pillow refused the image as a decompression bomb: {exc}") from exc
        except _DECODE_ERRORS as exc:
            raise UndecodableImageError(
                f"the {fmt} data is truncated or corrupt ({exc}); export or upload the file again"
            ) from exc
        if orientation in range(2, 9):
            image = ImageOps.exif_transpose(image)
        rgb, description = _to_srgb(image, icc)
    finally:
        image.close()
    return DecodedImage(
        pixels=rgb,
        format=fmt,
        source_mode=source_mode,
        width=int(rgb.shape[1]),
        height=int(rgb.shape[0]),
        icc_profile=description,
        exif_orientation=orientation,
    )


def encode_png(rgb: np.ndarray, alpha: np.ndarray | None = None) -> bytes:
    """Encode a lossless working file (RGB, or RGBA when alpha is given) for the next stage."""
    _check_rgb(rgb)
    if alpha is not None:
        if alpha.shape != rgb.shape[:2] or alpha.dtype != np.uint8:
            raise ValueError(f"alpha must be uint8 {rgb.shape[:2]}, got {alpha.dtype} {alpha.shape}")
        array = np.dstack((rgb, alpha))
    else:
        array = np.ascontiguousarray(rgb)
    buffer = io.BytesIO()
    # Working files are read once by the next stage: zlib level 1 is several times faster than the
    # default 6 on a 24 MP frame for files only ~10-20% larger, and stays lossless.
    Image.fromarray(array).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def decode_png_rgba(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Read a working PNG back as (rgb (H, W, 3) uint8, alpha (H, W) uint8; 255 where it had no alpha)."""
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            image.load()
            rgba = np.array(image.convert("RGBA"))
    except (UnidentifiedImageError, *_DECODE_ERRORS) as exc:
        raise UndecodableImageError(f"the working PNG cannot be read ({exc}); rerun the previous stage") from exc
    return np.ascontiguousarray(rgba[:, :, :3]), np.ascontiguousarray(rgba[:, :, 3])


def _open(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Our own max_pixels check replaces Pillow's warning; its hard error (over twice
            # Image.MAX_IMAGE_PIXELS, ~179 MP) stays as a backstop and becomes ImageTooLargeError.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"the image is too large to process safely: {exc}") from exc
    except UnidentifiedImageError as exc:
        found = _sniff(data)
        if found is not None:
            raise UnsupportedImageError(
                f"the file is {found}, not a photo; upload a JPEG, PNG, TIFF or WebP image"
            ) from exc
        raise UndecodableImageError(
            f"the {len(data)} bytes are not an image we can read; check the upload is a photo file"
        ) from exc
    except _DECODE_ERRORS as exc:
        raise UndecodableImageError(f"the image header is corrupt ({exc}); export the photo again") from exc


def _sniff(data: bytes) -> str | None:
    head = data[:64].lstrip()
    for signature, name in _KNOWN_NON_IMAGES:
        if head.startswith(signature):
            return name
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return f"a HEIF/AVIF image ({data[8:12].decode('ascii')})"
    return None


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(0x0112, 1)  # 0x0112 = Orientation
    except _DECODE_ERRORS:
        # A broken EXIF block should not cost the photo: treat it as upright.
        return 1
    return value if isinstance(value, int) else 1


@cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb(image: Image.Image, icc: bytes | None) -> tuple[np.ndarray, str | None]:
    """Return (RGB uint8 in sRGB, profile description); transparency is composited onto white."""
    image = _to_8bit(image)
    alpha: np.ndarray | None = None
    if image.mode in ("P", "PA"):
        # Palette transparency (tRNS or a PA alpha band) becomes a real alpha band here.
        has_alpha = image.mode == "PA" or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    if image.mode in ("RGBA", "RGBa", "LA", "La"):
        straight = image.convert("RGBA" if image.mode in ("RGBA", "RGBa") else "LA")
        alpha = np.array(straight.getchannel("A"))
        image = straight.convert("RGB" if straight.mode == "RGBA" else "L")
    if image.mode in ("1", "I", "F"):
        image = image.convert("L")
    if image.mode == "RGBX":
        image = image.convert("RGB")
    if image.mode not in ("RGB", "L", "CMYK", "YCbCr", "LAB"):
        raise UnsupportedImageError(f"pixel mode {image.mode} is not supported; save the photo as 8-bit RGB")

    converted, description = _apply_profile(image, icc)
    if converted is None:
        if image.mode == "LAB":
            converted = ImageCms.applyTransform(
                image,
                ImageCms.buildTransform(ImageCms.createProfile("LAB"), _srgb_profile(), "LAB", "RGB"),
            )
        else:
            # No usable profile: assume sRGB (the web default); CMYK gets Pillow's naive conversion.
            converted = image.convert("RGB")
    rgb = np.array(converted, dtype=np.uint8)
    if alpha is not None and int(alpha.min()) < 255:
        # A transparent area in an upload is background, and our background is white.
        rgb = composite_on_white(rgb, alpha)
    return np.ascontiguousarray(rgb), description


def _to_8bit(image: Image.Image) -> Image.Image:
    if not image.mode.startswith("I;16") and image.mode not in ("I", "F"):
        return image
    values = np.asarray(image)
    if image.mode.startswith("I;16"):
        peak = 65535.0
    else:
        # 32-bit int/float bands carry no declared range: 16-bit PNG/TIFF greys arrive as "I" with values
        # up to 65535, float TIFFs are usually 0..1. Pick the range the data fits.
        top = float(values.max()) if values.size else 0.0
        peak = 65535.0 if top > 255 else (1.0 if image.mode == "F" and top <= 1.0 else 255.0)
    scaled = np.clip(np.rint(values.astype(np.float32) * (255.0 / peak)), 0, 255).astype(np.uint8)
    return Image.fromarray(scaled)


def _apply_profile(image: Image.Image, icc: bytes | None) -> tuple[Image.Image | None, str | None]:
    """Convert with the embedded profile; (None, description) when there is none or it does not fit."""
    if not icc:
        return None, None
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        description = ImageCms.getProfileDescription(profile).strip() or "unnamed profile"
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        # An unreadable profile should not cost the photo: fall back to assuming sRGB.
        return None, None
    space = profile.profile.xcolor_space.strip()
    mode = {"RGB": "RGB", "CMYK": "CMYK", "GRAY": "L"}.get(space)
    source = image if image.mode != "YCbCr" else image.convert("RGB")
    if mode != source.mode:
        # A profile for another colour space (e.g. an RGB profile on a CMYK JPEG) cannot apply.
        return None, description
    if mode == "RGB" and description.lower().startswith("srgb"):
        # Already sRGB: a transform would be an identity costing ~0.3 s on 24 MP.
        return source, description
    try:
        transform = ImageCms.buildTransform(
            profile,
            _srgb_profile(),
            mode,
            "RGB",
            # Relative colorimetric with black point compensation is what Photoshop's "Convert to
            # Profile" defaults to for photos: in-gamut colours are kept, shadows are not crushed.
            renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
            flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
        )
        return ImageCms.applyTransform(source, transform), description
    except (ImageCms.PyCMSError, OSError, ValueError):
        # A profile lcms cannot use falls back to the plain conversion, keeping the photo.
        return None, description


def _check_rgb(rgb: np.ndarray) -> None:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"rgb must be (H, W, 3) uint8, got {rgb.dtype} {rgb.shape}")
