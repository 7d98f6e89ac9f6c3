"""Decode an uploaded photo (JPEG, PNG, TIFF, WebP, HEIC, camera RAW) into sRGB pixels, or say why not."""

from __future__ import annotations

import io
import re
import warnings
import zlib
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from packshot.errors import (
    BlankImageError,
    ImageTooLargeError,
    ImageTooSmallError,
    UndecodableImageError,
    UnsupportedImageError,
)
from packshot.imaging.complexity import working_copy
from packshot.imaging.finish import composite_on_white
from packshot.imaging.png import PILLOW_ERRORS, pixels_of
from packshot.imaging.raw import RawFile, identify_raw

SUPPORTED_FORMATS = frozenset({"JPEG", "PNG", "TIFF", "WEBP", "HEIF"})
_FORMATS_HINT = "a JPEG, PNG, TIFF, WebP, HEIC or camera RAW photo"
# A photo longer than this many times its width is a line, not a product shot (nothing to frame at 1:1).
MAX_ASPECT = 20
# A frame whose colours, averaged over 1/64 of its width, span fewer levels than this has nothing in it: a
# white product on a white sweep still has edges and shadows 30+ levels deep.
BLANK_SPREAD = 12
# Alpha under this everywhere (of 255) is a fully transparent image, whatever its hidden colours.
_INVISIBLE = 8
# EXIF (DCF): ColorSpace 0xFFFF "uncalibrated" with InteropIndex R03 means Adobe RGB; some cameras write 2.
_EXIF_IFD, _INTEROP_IFD, _COLOR_SPACE, _INTEROP_INDEX = 0x8769, 0xA005, 0xA001, 0x0001

# Exceptions Pillow raises from corrupt or truncated data (decoders use OSError, header parsers
# SyntaxError/ValueError, some plugins struct.error or EOFError).

# Signatures of files people upload by mistake, so the reason names what was found.
_KNOWN_NON_IMAGES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"<svg", "an SVG drawing"),
    (b"<?xml", "an XML file (perhaps SVG)"),
)
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1")
_AVIF_BRANDS = (b"avif", b"avis")


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
    # The same picture at 16 bits per channel (sRGB, upright) when the source had more than 8 bits and we
    # could keep them (16-bit TIFF, camera RAW); None otherwise. The editing master is written from it.
    pixels16: np.ndarray | None = None
    bit_depth: int = 8  # bits per channel the master keeps: 16 for 16-bit colour TIFF and RAW, else 8
    had_gps: bool = False  # the source carried a GPS position; no output ever copies it
    notes: tuple[str, ...] = ()  # what the record should say about how the file was read
    # Classify's working copy of `pixels` (imaging/complexity.working_copy) when decode was asked for it and made
    # it from Pillow's own image of those pixels; None otherwise (working_copy(pixels) gives the same array).
    preview: np.ndarray | None = None

    @property
    def master_pixels(self) -> np.ndarray:
        """What the lossless editing master keeps: 16-bit where the source had it, else the 8-bit pixels."""
        return self.pixels16 if self.pixels16 is not None else self.pixels


def decode_upload(data: bytes, *, min_side: int = 1000, max_pixels: int = 100_000_000) -> DecodedImage:
    """What pre-processing runs on every upload: decode_image (with classify's working copy), then refuse a frame
    with nothing in it."""
    return reject_blank(decode_image(data, min_side=min_side, max_pixels=max_pixels, preview=True))


def decode_image(data: bytes, *, min_side: int = 1000, max_pixels: int = 100_000_000,
                 preview: bool = False) -> DecodedImage:
    """Decode upload bytes to upright sRGB RGB uint8, or raise an ImageRejectedError saying why not.

    The pixels are read-only (a view of the bytes Pillow hands out: one copy of the frame fewer). With preview,
    classify's working copy is made from the Pillow image the pixels came from, where there is one, instead of
    from the array (which would first copy the frame back into Pillow): the same pixels, so the same copy.
    """
    from packshot.imaging.integrity import check_jpeg, check_png

    if not data:
        raise UndecodableImageError("the file is empty (0 bytes); upload the photo again")
    raw_file = identify_raw(data)
    if raw_file is not None:
        developed = _develop_raw(data, raw_file, min_side=min_side, max_pixels=max_pixels)
        if developed is not None:
            return developed
    if _is_heif(data):
        _register_heif()
    image = _open(data, max_pixels)
    notes: list[str] = []
    try:
        width, height = image.size
        fmt = image.format or "unknown"
        if fmt == "MPO":
            # A JPEG with an MPF index (Android Ultra HDR gain map, depth map, camera preview): the
            # primary image is an ordinary JPEG, and it is the photo.
            fmt = "JPEG"
            notes.append(f"JPEG with {getattr(image, 'n_frames', 2) - 1} more image(s) in an MPF index (a gain map,"
                         " depth map or preview): the primary image was used")
        # The header alone gives the size: reject bombs before a single pixel is allocated.
        if width * height > max_pixels:
            raise ImageTooLargeError(too_many_pixels(width * height, max_pixels, f"{width}x{height}"))
        if max(width, height) > MAX_ASPECT * max(min(width, height), 1):
            raise BlankImageError(
                f"the photo is {width}x{height} px: a line, not a picture (over {MAX_ASPECT}:1), with no product"
                " to frame; upload the product photo"
            )
        if fmt not in SUPPORTED_FORMATS:
            raise UnsupportedImageError(f"the file is a {fmt} image; upload {_FORMATS_HINT} instead")
        frames = getattr(image, "n_frames", 1)
        if frames > 1 and not notes:
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
        # Damage Pillow would decode silently (grey blocks, garbage rows), found before it decodes a pixel.
        if fmt == "JPEG":
            check_jpeg(data)
        elif fmt == "PNG":
            check_png(data)
        source_mode = image.mode
        orientation = _orientation(image)
        had_gps = _has_gps(image)
        icc = image.info.get("icc_profile")
        exif_space = None if icc else _exif_colour_space(image)
        if exif_space is not None:
            from packshot.imaging.icc import adobe_rgb_1998_profile

            icc = adobe_rgb_1998_profile()
        if fmt == "TIFF" and _needs_tifffile(image):
            deep = _decode_tiff16(data, icc, orientation)
            if deep is not None:
                pixels16, description = deep
                if pixels16.dtype == np.uint8:  # CMYK: converted at 8 bits by LittleCMS
                    return DecodedImage(
                        pixels=pixels16, format=fmt, source_mode="CMYK", width=int(pixels16.shape[1]),
                        height=int(pixels16.shape[0]), icc_profile=description, exif_orientation=orientation,
                        had_gps=had_gps, notes=("16-bit CMYK converted to 8-bit sRGB",))
                return DecodedImage(
                    pixels=to_8bit(pixels16),
                    format=fmt,
                    source_mode=source_mode,
                    width=int(pixels16.shape[1]),
                    height=int(pixels16.shape[0]),
                    icc_profile=description,
                    exif_orientation=orientation,
                    pixels16=pixels16,
                    bit_depth=16,
                    had_gps=had_gps,
                )
        try:
            image.load()
        except Image.DecompressionBombError as exc:
            raise ImageTooLargeError(too_many_pixels(width * height, max_pixels, f"{width}x{height}")) from exc
        except PILLOW_ERRORS as exc:
            raise UndecodableImageError(
                f"the {fmt} data is truncated or corrupt ({exc}); export or upload the file again"
            ) from exc
        if orientation in range(2, 9):
            image = ImageOps.exif_transpose(image)
        rgb, description, same_image = _to_srgb(image, icc)
        small = working_copy(same_image) if preview and same_image is not None else None
        del same_image
        if exif_space is not None:
            description = exif_space
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
        had_gps=had_gps,
        notes=tuple(notes),
        preview=small,
    )


def too_many_pixels(pixels: int, max_pixels: int, size: str = "") -> str:
    """The rejection for a photo over the pixel limit, in our words (Pillow's speak of "DOS attacks")."""
    shown = f" ({size})" if size else ""
    return (
        f"the photo has {pixels / 1e6:.0f} million pixels{shown}, over the {max_pixels / 1e6:.0f} million limit;"
        " export it smaller (no marketplace takes more than 10,000 px a side)"
    )


def _develop_raw(data: bytes, raw_file: RawFile, *, min_side: int, max_pixels: int) -> DecodedImage | None:
    """A RAW developed by LibRaw; None when the structure only hinted RAW and LibRaw does not know it."""
    from packshot.errors import UnsupportedRawError
    from packshot.imaging.raw import develop

    try:
        return develop(data, raw_file, min_side=min_side, max_pixels=max_pixels)  # type: ignore[no-any-return]
    except UnsupportedRawError:
        if raw_file.certain:
            raise
        return None  # a TIFF with sub-images that is no camera RAW: the TIFF reader takes it


def reject_blank(decoded: DecodedImage) -> DecodedImage:
    """The decoded photo, unless it is one colour all over (nothing to cut out): then BlankImageError."""
    pixels = decoded.pixels
    small = block_means(pixels, max(1, min(pixels.shape[:2]) // 64))
    low, high = np.percentile(small.reshape(-1, 3), [0.5, 99.5], axis=0)
    if float((high - low).max()) >= BLANK_SPREAD:
        return decoded
    colour = tuple(int(round(v)) for v in small.reshape(-1, 3).mean(axis=0))
    name = "white" if min(colour) >= 235 else "black" if max(colour) <= 20 else "a flat colour"
    raise BlankImageError(
        f"the photo is one colour all over ({name}, about RGB {colour}): there is no product in it;"
        " upload the photo of the product"
    )


def block_means(pixels: np.ndarray, step: int) -> np.ndarray:
    """Float64 means of the (step x step) blocks of (H, W, 3) uint8 pixels (a partial last row/column is left out).

    Integer sums (a block's rows first, over contiguous memory, then its columns) divided once: the same numbers
    as reshape(...).mean(axis=(1, 3)), since every sum is an exact integer, in a tenth of its time. The rows are
    added one at a time into uint16 sums (exact while step * 255 fits), 15% faster than a uint32 sum over the axis.
    """
    h, w = (pixels.shape[0] // step) * step, (pixels.shape[1] // step) * step
    blocks = pixels[:h, :w].reshape(h // step, step, w * 3)
    if step * 255 <= np.iinfo(np.uint16).max:
        rows = np.zeros((h // step, w * 3), np.uint16)
        for row in range(step):
            np.add(rows, blocks[:, row], out=rows)
    else:
        rows = blocks.sum(axis=1, dtype=np.uint32)
    sums = rows.reshape(h // step, w // step, step, 3).sum(axis=2, dtype=np.uint32)
    return sums / float(step * step)  # type: ignore[no-any-return]


def _exif_colour_space(image: Image.Image) -> str | None:
    """'Adobe RGB (1998) ...' when a profile-less photo's EXIF says Adobe RGB (DCF rules), else None."""
    try:
        exif = image.getexif()
        space = exif.get_ifd(_EXIF_IFD).get(_COLOR_SPACE)
        interop = str(exif.get_ifd(_INTEROP_IFD).get(_INTEROP_INDEX, "")).strip("\0 ").upper()
    except PILLOW_ERRORS:
        return None
    if space == 0xFFFF and interop == "R03":
        return "Adobe RGB (1998), from EXIF (ColorSpace uncalibrated, InteropIndex R03; no profile embedded)"
    if space == 2:
        return "Adobe RGB (1998), from EXIF (ColorSpace 2; no profile embedded)"
    return None


def to_8bit(pixels16: np.ndarray, rows_per_chunk: int = 512) -> np.ndarray:
    """uint16 -> uint8 with rounding (x / 257), in row chunks so a 100 MP frame needs no float copy."""
    out = np.empty(pixels16.shape, dtype=np.uint8)
    for top in range(0, pixels16.shape[0], rows_per_chunk):
        block = pixels16[top : top + rows_per_chunk].astype(np.uint32)
        out[top : top + rows_per_chunk] = ((block + 128) // 257).astype(np.uint8)
    return out


def sniff_raw(data: bytes) -> str | None:
    """The camera RAW format a file is by its content (signature, TIFF structure), or None for anything else."""
    raw_file = identify_raw(data)
    return raw_file.format if raw_file is not None else None


def _is_heif(data: bytes) -> bool:
    return data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS


@cache
def _register_heif() -> None:
    """Teach Pillow HEIC/HEIF, once, and only when a HEIF upload arrives (it loads libheif)."""
    import pillow_heif

    pillow_heif.register_heif_opener()


def _has_gps(image: Image.Image) -> bool:
    try:
        exif = image.getexif()
        return bool(exif.get(0x8825)) or bool(exif.get_ifd(0x8825))  # 0x8825 = GPSInfo
    except PILLOW_ERRORS:
        return False


def _needs_tifffile(image: Image.Image) -> bool:
    """16-bit colour TIFFs (RGB, CMYK, planar): Pillow reads them as 8-bit or not at all."""
    tags = getattr(image, "tag_v2", None)
    if tags is None:
        return False
    bits = tags.get(258)  # BitsPerSample
    if isinstance(bits, int):
        bits = (bits,)
    return bool(bits) and all(b == 16 for b in bits or ()) and tags.get(277, 1) in (3, 4, 5)


def _decode_tiff16(data: bytes, icc: bytes | None, orientation: int) -> tuple[np.ndarray, str | None] | None:
    """A 16-bit colour TIFF in sRGB, upright; None to fall back to Pillow's 8-bit path.

    RGB(A) stays 16-bit: Pillow reads it as 8-bit, so tifffile reads the pixels and a matrix/TRC profile
    (Adobe RGB, Display P3, ProPhoto) is applied in numpy at 16 bits; a LUT profile goes to LittleCMS at 8.
    CMYK (photometric SEPARATED) comes back as 8-bit sRGB (uint8): LittleCMS, through Pillow, converts
    8-bit CMYK only. Planar ("per channel") files arrive from tifffile as (samples, H, W).
    """
    import tifffile

    from packshot.imaging.icc import convert_to_srgb16, parse_matrix_profile

    description: str | None = None
    profile = None
    if icc:
        try:
            description = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            icc = None
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            page = tif.pages[0]
            extra = getattr(page, "extrasamples", ())  # a TiffFrame has none
            photometric = int(getattr(page, "photometric", 2))
            axes = str(getattr(page, "axes", ""))
            pixels = page.asarray()
    except (tifffile.TiffFileError, zlib.error, RuntimeError, NotImplementedError, *PILLOW_ERRORS):
        # Broken data, or a compression tifffile cannot decode without imagecodecs: Pillow's 8-bit path
        # then either reads it or rejects it with its own reason.
        return None
    if pixels.dtype != np.uint16 or pixels.ndim != 3:
        return None
    if axes.endswith("SYX") or (pixels.shape[0] in (3, 4, 5) and pixels.shape[2] not in (3, 4, 5)):
        pixels = np.moveaxis(pixels, 0, -1)
    if photometric == 5 and pixels.shape[2] >= 4:  # SEPARATED: ink, not light
        return _cmyk16_to_srgb(pixels[:, :, :4], icc, description, orientation)
    if photometric != 2 or pixels.shape[2] not in (3, 4):
        return None
    if icc and not (description or "").lower().startswith("srgb"):
        profile = parse_matrix_profile(icc)
        if profile is None:
            return None
    rgb = np.ascontiguousarray(pixels[:, :, :3])
    if profile is not None:
        rgb = convert_to_srgb16(rgb, profile)
    if pixels.shape[2] == 4:
        alpha = pixels[:, :, 3].astype(np.float32) / 65535.0
        if extra and int(extra[0]) == 1:  # associated (premultiplied) alpha
            rgb = np.clip(rgb + (1.0 - alpha[..., None]) * 65535.0, 0, 65535).astype(np.uint16)
        elif float(alpha.min()) < 1.0:
            rgb = np.rint(rgb * alpha[..., None] + (1.0 - alpha[..., None]) * 65535.0).astype(np.uint16)
    del pixels
    return np.ascontiguousarray(_orient(rgb, orientation)), description


def _cmyk16_to_srgb(cmyk16: np.ndarray, icc: bytes | None, description: str | None,
                    orientation: int) -> tuple[np.ndarray, str | None]:
    """16-bit CMYK -> 8-bit sRGB through its profile (LittleCMS), or the plain formula without one."""
    image = Image.fromarray(to_8bit(np.ascontiguousarray(cmyk16)), "CMYK")
    rgb, found, _ = _to_srgb(image, icc)
    return np.ascontiguousarray(_orient(rgb, orientation)), found or description


def _orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (2..8) to an array, as ImageOps.exif_transpose does to an image."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
        8: lambda a: np.rot90(a, 1),
    }
    return ops[orientation](pixels) if orientation in ops else pixels


def _open(data: bytes, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Our own max_pixels check replaces Pillow's warning; its hard error (over twice
            # Image.MAX_IMAGE_PIXELS, ~179 MP) stays as a backstop and becomes ImageTooLargeError.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        # Pillow's words are about "DOS attacks"; ours say what to do. Its message carries the pixel count.
        found = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = int(found.group(1)) if found else 2 * (Image.MAX_IMAGE_PIXELS or max_pixels)
        raise ImageTooLargeError(too_many_pixels(pixels, max_pixels)) from exc
    except UnidentifiedImageError as exc:
        found_kind = _sniff(data)
        if found_kind is not None:
            raise UnsupportedImageError(
                f"the file is {found_kind}, not a photo; upload {_FORMATS_HINT}"
            ) from exc
        raise UndecodableImageError(
            f"the {len(data)} bytes are not an image we can read; check the upload is a photo file"
        ) from exc
    except PILLOW_ERRORS as exc:
        raise UndecodableImageError(f"the image header is corrupt ({exc}); export the photo again") from exc


def _sniff(data: bytes) -> str | None:
    head = data[:64].lstrip()
    for signature, name in _KNOWN_NON_IMAGES:
        if head.startswith(signature):
            return name
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS + _AVIF_BRANDS:
        return f"a HEIF/AVIF image ({data[8:12].decode('ascii')}) we cannot read"
    return None


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(0x0112, 1)  # 0x0112 = Orientation
    except PILLOW_ERRORS:
        # A broken EXIF block should not cost the photo: treat it as upright.
        return 1
    return value if isinstance(value, int) else 1


@cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb(image: Image.Image, icc: bytes | None) -> tuple[np.ndarray, str | None, Image.Image | None]:
    """Return (RGB uint8 in sRGB, profile description, the RGB Pillow image holding exactly those pixels or None);
    transparency is composited onto white (then there is no such image)."""
    image = _to_8bit(image)
    alpha: np.ndarray | None = None
    if image.mode in ("P", "PA"):
        # Palette transparency (tRNS or a PA alpha band) becomes a real alpha band here.
        has_alpha = image.mode == "PA" or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    if image.mode in ("RGBA", "RGBa", "LA", "La"):
        straight = image.convert("RGBA" if image.mode in ("RGBA", "RGBa") else "LA")
        alpha = np.asarray(straight.getchannel("A"))
        if int(alpha.max()) < _INVISIBLE:
            raise BlankImageError(
                "the image is fully transparent: none of its pixels can be seen, so there is no product in it;"
                " export it again with the product visible"
            )
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
            # No usable profile: assume sRGB (the web default); CMYK gets Pillow's naive conversion. An RGB
            # image is already that (convert would only copy it).
            converted = image if image.mode == "RGB" else image.convert("RGB")
    assert converted is not None  # applyTransform returns None only when it works in place
    # A read-only view of the bytes Pillow packs, not a second copy of the frame (packed in one call: pixels_of).
    rgb = pixels_of(converted)
    same: Image.Image | None = converted
    if alpha is not None and int(alpha.min()) < 255:
        # A transparent area in an upload is background, and our background is white.
        rgb, same = composite_on_white(rgb, alpha), None
    return np.ascontiguousarray(rgb), description, same


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
