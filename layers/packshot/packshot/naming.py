"""Delivered file names: a platform's naming template filled from the image's metadata, made safe and unique."""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from packshot.events import safe_name

# Long enough for ID.VARIANT.ext and client templates; short enough for zip tools and old Windows paths.
MAX_NAME_LENGTH = 120
AMAZON_VARIANTS = re.compile(r"^(MAIN|PT0[1-8]|SWCH)$")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                     *(f"LPT{i}" for i in range(1, 10))}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_GTIN = re.compile(r"^(\d{8}|\d{12}|\d{13}|\d{14})$")
# A delivered Amazon file name: ID.VARIANT.ext, one file per ID and variant.
AMAZON_NAME = re.compile(r"^(?P<id>.+)\.(?P<variant>MAIN|PT0[1-8]|SWCH)\.(?P<ext>[^.]+)$", re.IGNORECASE)


@dataclass(frozen=True)
class FileName:
    """A delivered file's name, and why it is not the platform's scheme when it is not (empty when it is)."""

    name: str
    note: str = ""


def naming_fields(metadata: Mapping[str, str], source_key: str, platform: str, ext: str,
                  batch: str = "") -> tuple[dict[str, str], dict[str, str]]:
    """(values, problems): every naming placeholder we can fill, and why the others are empty."""
    meta = {str(k).lower(): str(v).strip() for k, v in metadata.items() if v is not None and str(v).strip()}
    problems: dict[str, str] = {}
    values: dict[str, str] = {k: meta[k] for k in ("sku", "asin", "ean", "upc", "isbn") if k in meta}
    values.update(source=safe_name(source_key), platform=platform, ext=ext, view=meta.get("view", "main"))
    if batch:
        values["batch"] = batch
    amazon_id = next((meta[k] for k in ("asin", "ean", "upc", "isbn") if k in meta), "")
    if amazon_id:
        values["amazon_id"] = amazon_id
    else:
        problems["amazon_id"] = "no asin, ean, upc or isbn in the metadata"
    variant = (meta.get("amazon_variant") or meta.get("variant") or "PT01").upper()
    if AMAZON_VARIANTS.match(variant):
        values["amazon_variant"] = variant
    else:
        problems["amazon_variant"] = f"variant {variant!r} is not MAIN, PT01-PT08 or SWCH"
    gtin = next((meta[k] for k in ("gtin", "upc", "ean") if k in meta), "")
    if _GTIN.match(gtin):
        values["gtin"] = gtin
    else:
        problems["gtin"] = (f"gtin {gtin!r} is not 8, 12, 13 or 14 digits" if gtin
                            else "no gtin, upc or ean in the metadata")
    for key in ("sku", "asin", "ean", "upc", "isbn"):
        problems.setdefault(key, f"no {key} in the metadata")
    return values, problems


def file_name(template: str, metadata: Mapping[str, str], source_key: str, platform: str, ext: str,
              batch: str = "") -> FileName:
    """The platform's template filled in; a missing ID falls back to the safe source name, with a note why."""
    values, problems = naming_fields(metadata, source_key, platform, ext, batch)
    wanted = [field for _, field, _, _ in string.Formatter().parse(template) if field]
    missing = [field for field in wanted if field not in values]
    if missing:
        reason = problems.get(missing[0], f"no {missing[0]} in the metadata")
        fallback = safe_filename(f"{values['source']}.{ext}")
        return FileName(fallback, f"{platform}: {reason}; named {fallback} after the source file")
    return FileName(safe_filename(template.format(**values)))


def safe_filename(name: str, max_length: int = MAX_NAME_LENGTH) -> str:
    """A name any file system accepts: ASCII letters, digits, '.', '_', '-'; no '..', no reserved names."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    stem, dot, ext = ascii_name.rpartition(".")
    if not dot:
        stem, ext = ascii_name, ""
    ext = re.sub(r"[^A-Za-z0-9]+", "", ext)
    stem = _UNSAFE.sub("-", stem)  # '/', '\\', ':', control characters, spaces, ...
    stem = re.sub(r"\.{2,}", ".", stem).strip(".- ") or "image"
    if stem.split(".", 1)[0].upper() in _WINDOWS_RESERVED:
        stem = "_" + stem
    suffix = f".{ext}" if ext else ""
    return stem[: max(1, max_length - len(suffix))].rstrip(".- ") + suffix


def unique_names(names: Sequence[str]) -> list[str | None]:
    """The same names, later duplicates renamed; None where no valid name is left.

    An Amazon name (ID.VARIANT.ext) that is taken moves to the first free PT01-PT08 of its ID (a second MAIN too:
    Amazon takes one MAIN per ID); there is no valid name beyond PT08, nor for a second SWCH, so those get None
    and the caller says why. Other names get _2, _3. Deterministic: callers pass names in a stable order (the
    delivery sorts by source key). Compared without case, because macOS and Windows file systems do not tell
    'A.jpg' from 'a.jpg'.
    """
    taken: set[str] = set()
    out: list[str | None] = []
    for name in names:
        candidate: str | None = name
        if name.lower() in taken:
            candidate = _next_free(name, taken)
        if candidate is not None:
            taken.add(candidate.lower())
        out.append(candidate)
    return out


def _next_free(name: str, taken: set[str]) -> str | None:
    match = AMAZON_NAME.match(name)
    if match:
        for n in range(1, 9):
            candidate = f"{match['id']}.PT{n:02d}.{match['ext']}"
            if candidate.lower() not in taken:
                return candidate
        return None
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    counter = 2
    while True:
        candidate = f"{stem}_{counter}" + (f".{ext}" if ext else "")
        if candidate.lower() not in taken:
            return candidate
        counter += 1
