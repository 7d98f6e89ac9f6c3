"""Marketplace rules as data: load platforms.json, merge a client's overrides, validate every field."""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from packshot.errors import ConfigurationError

FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "TIFF": "tif"}
COLOUR_SPACES = ("sRGB", "Adobe RGB (1998)")
BACKGROUNDS = ("white", "transparent")
# What a naming template may use; naming.py fills them from the image's metadata.
NAMING_FIELDS = frozenset(
    {"sku", "asin", "ean", "upc", "gtin", "isbn", "amazon_id", "amazon_variant", "view", "source", "platform",
     "ext", "batch"}
)
_FIELDS = (
    "formats", "size", "aspect", "min_longest_side", "max_longest_side", "min_shortest_side", "max_pixels",
    "background", "pure_white_required", "fill", "colour_space", "dpi", "max_bytes", "naming",
)
_OPTIONAL = {"source", "extends"}
# A size and its declared aspect may differ by rounding: Zalando's 1801x2600 is 1:1.4437, declared 1:1.44.
_ASPECT_TOLERANCE = 0.01


class PlatformRulesError(ConfigurationError):
    """The platform rules (defaults or a client's overrides) have a field we cannot use; `field` names it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"platform rules: {field}: {problem}")
        self.field = field


@dataclass(frozen=True)
class PlatformSpec:
    """What one marketplace accepts for a product image, as the export renders and verifies it."""

    name: str
    formats: tuple[str, ...]  # the first is the primary file; the rest are fallbacks delivered beside it
    size: tuple[int, int] | None  # exact canvas (w, h), or None to keep the canvas within the side limits
    aspect: float | None  # width / height the canvas is padded to; None keeps the finished canvas's aspect
    min_longest_side: int
    max_longest_side: int
    min_shortest_side: int
    max_pixels: int | None
    background: str  # "white" (flattened) | "transparent" (alpha kept)
    pure_white_required: bool  # background must decode to exactly 255 (verified on the written file)
    fill: float | None  # product share of the longest side the export frames to and verifies; None keeps it
    colour_space: str
    dpi: int | None
    max_bytes: int
    naming: str
    source: str = ""

    @property
    def format(self) -> str:
        return self.formats[0]

    @property
    def extension(self) -> str:
        return FORMATS[self.formats[0]]


def default_document() -> dict[str, Any]:
    """The shipped rules file, parsed (a fresh copy each call, so merging cannot alter the cache)."""
    return json.loads(_default_text())


@cache
def _default_text() -> str:
    return resources.files("packshot").joinpath("platforms.json").read_text(encoding="utf-8")


def load_platforms(overrides: Mapping[str, Any] | None = None) -> dict[str, PlatformSpec]:
    """The default rules with `overrides` ({"platforms": {name: {field: value}}}) merged over them."""
    merged = merge_rules(default_document(), overrides or {})
    return {name: parse_platform(name, raw) for name, raw in merged["platforms"].items()}


def merge_rules(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Field-by-field merge: an override changes the fields it names; a new platform may `extends` one."""
    if not isinstance(overrides, Mapping):
        raise PlatformRulesError("(document)", "the overrides must be a mapping with a 'platforms' key")
    unknown = set(overrides) - {"platforms", "_comment"}
    if unknown:
        raise PlatformRulesError(min(unknown), "unknown top-level key; put platforms under 'platforms'")
    platforms = {name: dict(raw) for name, raw in base.get("platforms", {}).items()}
    extra = overrides.get("platforms", {})
    if not isinstance(extra, Mapping):
        raise PlatformRulesError("platforms", "must map platform names to their fields")
    for name, fields in extra.items():
        if not isinstance(fields, Mapping):
            raise PlatformRulesError(f"platforms.{name}", "must be a mapping of fields")
        parent = fields.get("extends")
        if parent is not None:
            if parent not in platforms:
                raise PlatformRulesError(f"platforms.{name}.extends", f"no platform named {parent!r} to extend")
            start = dict(platforms[parent])
        else:
            start = platforms.get(name, {})
        platforms[name] = {**start, **{k: v for k, v in fields.items() if k != "extends"}}
    return {"platforms": platforms}


def parse_platform(name: str, raw: Mapping[str, Any]) -> PlatformSpec:
    """One platform's fields, checked; the error names the first bad field."""
    where = f"platforms.{name}"
    if not name or not all(c.isalnum() or c in "_-" for c in name):
        raise PlatformRulesError(where, "a platform name uses letters, digits, '_' and '-' only")
    unknown = set(raw) - set(_FIELDS) - _OPTIONAL - {"_comment"}
    if unknown:
        raise PlatformRulesError(f"{where}.{min(unknown)}", f"unknown field (known: {', '.join(_FIELDS)})")
    missing = [f for f in _FIELDS if f not in raw]
    if missing:
        raise PlatformRulesError(f"{where}.{missing[0]}", "missing (a new platform needs every field, or 'extends')")

    formats = raw["formats"]
    if isinstance(formats, str):
        formats = [formats]
    if not isinstance(formats, list) or not formats or any(str(f).upper() not in FORMATS for f in formats):
        raise PlatformRulesError(
            f"{where}.formats", f"must be a non-empty list from {sorted(FORMATS)}, got {formats!r}"
        )
    formats = tuple(str(f).upper() for f in formats)

    size = raw["size"]
    if size is not None:
        if not (isinstance(size, list | tuple) and len(size) == 2 and all(_is_int(v) and v > 0 for v in size)):
            raise PlatformRulesError(f"{where}.size", f"must be [width, height] in pixels or null, got {size!r}")
        size = (int(size[0]), int(size[1]))
    aspect = _aspect(f"{where}.aspect", raw["aspect"])
    if size is not None:
        actual = size[0] / size[1]
        if aspect is not None and abs(actual - aspect) / aspect > _ASPECT_TOLERANCE:
            raise PlatformRulesError(f"{where}.aspect", f"{raw['aspect']} does not match size {size[0]}x{size[1]}")
        aspect = actual

    ints = {}
    for field in ("min_longest_side", "max_longest_side", "min_shortest_side", "max_bytes"):
        value = raw[field]
        if not _is_int(value) or value < 0:
            raise PlatformRulesError(f"{where}.{field}", f"must be a whole number >= 0, got {value!r}")
        ints[field] = int(value)
    if ints["max_bytes"] == 0:
        raise PlatformRulesError(f"{where}.max_bytes", "must be more than 0")
    if ints["min_longest_side"] > ints["max_longest_side"]:
        raise PlatformRulesError(f"{where}.min_longest_side", "is larger than max_longest_side")
    if size is not None and not ints["min_longest_side"] <= max(size) <= ints["max_longest_side"]:
        raise PlatformRulesError(f"{where}.size", "longest side is outside min_longest_side..max_longest_side")
    max_pixels = _optional_int(f"{where}.max_pixels", raw["max_pixels"])
    dpi = _optional_int(f"{where}.dpi", raw["dpi"])

    background = raw["background"]
    if background not in BACKGROUNDS:
        raise PlatformRulesError(f"{where}.background", f"must be one of {BACKGROUNDS}, got {background!r}")
    pure = raw["pure_white_required"]
    if not isinstance(pure, bool):
        raise PlatformRulesError(f"{where}.pure_white_required", f"must be true or false, got {pure!r}")
    if pure and background != "white":
        raise PlatformRulesError(f"{where}.pure_white_required", "needs background 'white'")
    if background == "transparent" and any(f not in ("PNG", "WEBP", "TIFF") for f in formats):
        raise PlatformRulesError(f"{where}.formats", "a transparent background needs PNG, WEBP or TIFF")

    fill = raw["fill"]
    if fill is not None and not (isinstance(fill, int | float) and not isinstance(fill, bool) and 0 < fill <= 1):
        raise PlatformRulesError(f"{where}.fill", f"must be a number in (0, 1] or null, got {fill!r}")

    colour_space = raw["colour_space"]
    if colour_space not in COLOUR_SPACES:
        raise PlatformRulesError(f"{where}.colour_space", f"must be one of {COLOUR_SPACES}, got {colour_space!r}")

    naming = raw["naming"]
    _check_naming(f"{where}.naming", naming)

    return PlatformSpec(
        name=name,
        formats=formats,
        size=size,
        aspect=aspect,
        min_longest_side=ints["min_longest_side"],
        max_longest_side=ints["max_longest_side"],
        min_shortest_side=ints["min_shortest_side"],
        max_pixels=max_pixels,
        background=background,
        pure_white_required=pure,
        fill=None if fill is None else float(fill),
        colour_space=colour_space,
        dpi=dpi,
        max_bytes=ints["max_bytes"],
        naming=naming,
        source=str(raw.get("source", "")),
    )


def parse_overrides(text: str, origin: str) -> dict[str, Any]:
    """An overrides document from JSON or YAML text (YAML when `origin` ends in .yaml/.yml)."""
    try:
        if origin.lower().endswith((".yaml", ".yml")):
            import yaml

            document = yaml.safe_load(text)
        else:
            document = json.loads(text)
    except ImportError as exc:
        raise PlatformRulesError("(document)", f"{origin} is YAML but PyYAML is not installed; use JSON") from exc
    except ValueError as exc:  # json.JSONDecodeError and yaml.YAMLError's usual causes
        raise PlatformRulesError("(document)", f"{origin} does not parse: {exc}") from exc
    except Exception as exc:  # yaml.YAMLError is not a ValueError
        raise PlatformRulesError("(document)", f"{origin} does not parse: {exc}") from exc
    if not isinstance(document, dict):
        raise PlatformRulesError("(document)", f"{origin} must hold a mapping with a 'platforms' key")
    return document


def _aspect(field: str, value: Any) -> float | None:
    """'1:1.44' (width:height) -> 0.694...; None stays None."""
    if value is None:
        return None
    try:
        width, height = (float(part) for part in str(value).split(":"))
    except ValueError as exc:
        raise PlatformRulesError(field, f"must look like 'W:H' (e.g. '1:1.44'), got {value!r}") from exc
    if width <= 0 or height <= 0:
        raise PlatformRulesError(field, f"both sides must be positive, got {value!r}")
    return width / height


def _check_naming(field: str, naming: Any) -> None:
    if not isinstance(naming, str) or not naming.strip():
        raise PlatformRulesError(field, "must be a template such as '{sku}_{view}.{ext}'")
    try:
        names = [n for _, n, spec, conv in string.Formatter().parse(naming) if n is not None]
    except ValueError as exc:
        raise PlatformRulesError(field, f"is not a valid template: {exc}") from exc
    unknown = sorted(set(names) - NAMING_FIELDS)
    if unknown or any(not n for n in names):
        raise PlatformRulesError(field, f"unknown placeholder {unknown[:1] or ['{}']}; use {sorted(NAMING_FIELDS)}")
    if "ext" not in names:
        raise PlatformRulesError(field, "must end with '.{ext}' so the extension matches the format")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional_int(field: str, value: Any) -> int | None:
    if value is None:
        return None
    if not _is_int(value) or value <= 0:
        raise PlatformRulesError(field, f"must be a whole number > 0 or null, got {value!r}")
    return int(value)
