"""Per-image metadata (category, IDs, client, platforms) from a batch manifest or S3 object metadata.

Every row is checked against one declared schema (FIELDS): types, lengths, allowed characters and values. A
bad row costs its own photo only: looking that photo up raises ManifestRowError naming the row and column,
and the rest of the folder goes on.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from packshot.errors import ImageRejectedError, PackshotError

# The manifest sits beside the photos, under the same prefix; either name works, CSV is read first.
MANIFEST_NAMES = ("manifest.csv", "manifest.json")
# A manifest is a text file listing photos: anything bigger is not one (and would be slow to read per image).
MAX_MANIFEST_BYTES = 5_000_000
# A row whose filename is this gives the batch's defaults.
DEFAULTS_ROW = "*"
_PLATFORM_SPLIT = re.compile(r"[;,|\s]+")


class ManifestError(PackshotError):
    """The batch manifest cannot be read at all; its images fall back to object metadata and defaults."""


class ManifestRowError(ImageRejectedError):
    """The photo's row in the manifest (or its object metadata) breaks the schema: the photo is rejected."""


@dataclass(frozen=True)
class Field:
    """One metadata field: how long it may be, what it may contain, and whether it holds a list."""

    name: str
    max_length: int
    pattern: re.Pattern[str]
    allowed: str  # the pattern in words, for the rejection
    normalise: Callable[[str], str] = str.strip
    many: int = 0  # a list of at most this many values (platforms); 0 = one value
    check: Callable[[str], str] | None = None  # returns a problem, "" when the value is fine


def _gtin_check(value: str) -> str:
    """GS1 check digit (GTIN-8/12/13/14, EAN, UPC, ISBN-13): weights 3 and 1 from the right."""
    digits = [int(d) for d in value]
    total = sum(d * (3 if i % 2 else 1) for i, d in enumerate(reversed(digits[:-1]), start=1))
    expected = (10 - total % 10) % 10
    return "" if digits[-1] == expected else f"its check digit should be {expected}, not {digits[-1]}"


def _isbn_check(value: str) -> str:
    if len(value) == 13:
        return _gtin_check(value)
    total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(value))
    return "" if total % 11 == 0 else "its check digit is wrong"


_SLUG = re.compile(r"[a-z0-9][a-z0-9 _&-]*")
_TEXT = re.compile(r"[^\x00-\x1f\x7f]*")
FIELDS: dict[str, Field] = {f.name: f for f in (
    Field("category", 40, _SLUG, "lower-case letters, digits, spaces, '_', '&' and '-'", lambda v: v.strip().lower()),
    Field("sku", 64, re.compile(r"[A-Za-z0-9][A-Za-z0-9._/ -]*"), "letters, digits, '.', '_', '/', '-' and spaces"),
    Field("asin", 10, re.compile(r"[A-Z0-9]{10}"), "10 letters or digits", lambda v: v.strip().upper()),
    Field("gtin", 14, re.compile(r"\d{8}|\d{12,14}"), "8, 12, 13 or 14 digits", check=_gtin_check),
    Field("ean", 13, re.compile(r"\d{8}|\d{13}"), "8 or 13 digits", check=_gtin_check),
    Field("upc", 12, re.compile(r"\d{12}"), "12 digits", check=_gtin_check),
    Field("isbn", 13, re.compile(r"\d{9}[\dX]|\d{13}"), "10 or 13 digits", lambda v: v.strip().upper().replace("-", ""),
          check=_isbn_check),
    Field("client", 128, _TEXT, "text without control characters"),
    Field("platforms", 40, re.compile(r"[a-z0-9_]+"), "a platform name (lower-case letters, digits, '_')",
          lambda v: v.strip().lower(), many=20),
)}


@dataclass(frozen=True)
class ImageMetadata:
    """What the client told us about one photo; empty strings/tuples mean "not given"."""

    category: str = ""
    sku: str = ""
    asin: str = ""
    gtin: str = ""
    ean: str = ""
    upc: str = ""
    isbn: str = ""
    client: str = ""
    platforms: tuple[str, ...] = ()

    def over(self, base: ImageMetadata) -> ImageMetadata:
        """These values where given, base's elsewhere."""
        return replace(base, **{f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)})

    def as_record(self) -> dict[str, Any]:
        return {f.name: list(getattr(self, f.name)) if f.name == "platforms" else getattr(self, f.name)
                for f in fields(self)}


@dataclass(frozen=True)
class Manifest:
    """A parsed manifest: batch defaults, one entry per file name (or why its row was refused), and problems."""

    name: str
    defaults: ImageMetadata | ManifestRowError
    entries: Mapping[str, ImageMetadata | ManifestRowError]
    # What stopped the manifest from being read to its end; photos it may have listed there are rejected.
    problems: tuple[str, ...] = field(default=())

    def lookup(self, key: str) -> ImageMetadata:
        """Entry for an object key, over the defaults; ManifestRowError when its row (or the defaults) is bad."""
        name = key.rsplit("/", 1)[-1]
        entry = self.entries.get(key) or self.entries.get(name)
        if isinstance(entry, ManifestRowError):
            raise entry
        if isinstance(self.defaults, ManifestRowError):
            raise self.defaults
        if entry is None:
            if self.problems:
                raise ManifestRowError(
                    f"{name} is not in the part of {self.name} that could be read ({self.problems[0]}); fix the"
                    " manifest and upload it and the photo again"
                )
            entry = ImageMetadata()
        return entry.over(self.defaults)


def is_manifest_key(key: str) -> bool:
    """True for an uploaded manifest: it describes a batch and is not a photo to process."""
    return key.rsplit("/", 1)[-1].lower() in MANIFEST_NAMES


def manifest_keys(image_key: str) -> list[str]:
    """Where the manifest for an image would be: beside it, under the same prefix."""
    prefix = image_key.rsplit("/", 1)[0] + "/" if "/" in image_key else ""
    return [prefix + name for name in MANIFEST_NAMES]


def batch_of(image_key: str) -> str:
    """The batch an image belongs to: its prefix (the folder it was uploaded into); "" at the top."""
    return image_key.rsplit("/", 1)[0] if "/" in image_key else ""


def parse_manifest(data: bytes, name: str, known_platforms: Iterable[str] | None = None) -> Manifest:
    """Parse manifest.csv (a header row with `filename` and any of the fields) or manifest.json.

    JSON is either a list of objects with `filename`, or {"defaults": {...}, "images": {filename: {...}}}
    (or "images" as such a list). Platforms are a list in JSON, separated by ';', '|' or spaces in CSV; a
    one-element list is accepted for any single-valued field. With known_platforms, other names are refused.
    """
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"{name} is {len(data)} bytes, over the {MAX_MANIFEST_BYTES} byte limit for a manifest")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{name} is not UTF-8 text ({exc}); save it as UTF-8 CSV or JSON") from exc
    known = frozenset(known_platforms) if known_platforms is not None else None
    if name.lower().endswith(".json"):
        return _parse_json(text, name, known)
    return _parse_csv(text, name, known)


def from_object_metadata(metadata: Mapping[str, str], known_platforms: Iterable[str] | None = None) -> ImageMetadata:
    """Metadata from S3 user metadata (x-amz-meta-category, -sku, -asin, -gtin, ..., -platforms)."""
    lowered = {k.lower().removeprefix("x-amz-meta-"): v for k, v in metadata.items()}
    known = frozenset(known_platforms) if known_platforms is not None else None
    entry = _entry(lowered, known, "the object metadata (x-amz-meta-{column})")
    if isinstance(entry, ManifestRowError):
        raise entry
    return entry


def resolve(key: str, manifest: Manifest | None, object_metadata: Mapping[str, str],
            default_platforms: Iterable[str], known_platforms: Iterable[str] | None = None) -> ImageMetadata:
    """Object metadata over the manifest's row over the manifest's defaults over the deployment's defaults."""
    result = ImageMetadata(platforms=tuple(default_platforms))
    if manifest is not None:
        result = manifest.lookup(key).over(result)
    return from_object_metadata(object_metadata, known_platforms).over(result)


# --- reading


def _parse_csv(text: str, name: str, known: frozenset[str] | None) -> Manifest:
    # The csv module stops at fields over 128 KB with a bare csv.Error (process-wide limit); a manifest is at most
    # MAX_MANIFEST_BYTES, so any field in it is read, and its row is refused with a reason if the value is too long.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_MANIFEST_BYTES))
    lines = io.StringIO(text, newline="")
    reader = csv.reader(lines, strict=True)
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    try:
        header = [(c or "").strip().lower() for c in next(reader, [])]
    except csv.Error as exc:
        raise ManifestError(f"{name}: the header line cannot be read ({exc})") from exc
    if "filename" not in header:
        raise ManifestError(f"{name} has no 'filename' column (found {sorted(set(header) - {''}) or 'no header'})")
    line = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            words = "a quote opened there is never closed" if "end of data" in str(exc) or "EOF" in str(exc) \
                else str(exc)
            problems.append(f"{name} cannot be read from line {line + 1} on: {words}")
            break
        line = reader.line_num
        if cells:
            rows.append(dict(zip(header, cells, strict=False)))
    return _build(rows, {}, name, known, tuple(problems))


def _parse_json(text: str, name: str, known: frozenset[str] | None) -> Manifest:
    try:
        document = json.loads(text)
        rows: list[Any] | None = None
    except RecursionError:
        document, rows = _shallow_json(text, name)
    except ValueError as exc:
        raise ManifestError(f"{name} is not valid JSON ({exc})") from exc
    defaults: Any = {}
    images: Any = document
    if isinstance(document, dict):
        defaults = document.get("defaults", {})
        images = document.get("images", [])
        if isinstance(images, dict):
            images = [{**(v if isinstance(v, dict) else {"": v}), "filename": k} for k, v in images.items()]
    if rows is not None:
        images = rows
    if not isinstance(images, list):
        raise ManifestError(f"{name}: expected a list of objects with 'filename', or an 'images' object")
    return _build(images, defaults, name, known, ())


def _shallow_json(text: str, name: str) -> tuple[Any, list[Any]]:
    """A top-level list parsed item by item, so one absurdly deep item costs its own row only."""
    stripped = text.strip()
    if not stripped.startswith("["):
        raise ManifestError(f"{name} is nested deeper than JSON readers allow; keep it to a list of flat objects")
    rows: list[Any] = []
    for item in _top_level_items(stripped):
        try:
            rows.append(json.loads(item))
        except RecursionError:
            rows.append(_TooDeep())
        except ValueError as exc:
            raise ManifestError(f"{name} is not valid JSON ({exc})") from exc
    return rows, rows


class _TooDeep:
    """A JSON row nested too deep to parse: it stands for its row, which is refused."""


def _top_level_items(text: str) -> list[str]:
    """The texts of a JSON array's elements, split at its top-level commas (strings respected)."""
    items, depth, start, in_string, escaped = [], 0, 1, False, False
    for i, char in enumerate(text):
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
            continue
        if char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                if text[start:i].strip():
                    items.append(text[start:i])
                break
        elif char == "," and depth == 1:
            items.append(text[start:i])
            start = i + 1
    return items


def _build(rows: list[Any], defaults: Any, name: str, known: frozenset[str] | None,
           problems: tuple[str, ...]) -> Manifest:
    entries: dict[str, ImageMetadata | ManifestRowError] = {}
    first_row: dict[str, int] = {}
    default_entry = _entry(defaults, known, f"{name}, 'defaults', column {{column}}") if isinstance(
        defaults, dict) else ManifestRowError(f"{name}: 'defaults' must be an object")
    for number, row in enumerate(rows, start=1):
        where = f"{name}, row {number}, column {{column}}"
        if isinstance(row, _TooDeep) or not isinstance(row, dict):
            problem = "is nested too deep to read" if isinstance(row, _TooDeep) else "is not an object"
            problems = (*problems, f"row {number} {problem}")
            continue
        filename = row.get("filename")
        if not isinstance(filename, str) or not filename.strip():
            raise ManifestError(f"{name}: row {number} has no filename")
        filename = filename.strip()
        entry = _entry(row, known, where)
        if filename == DEFAULTS_ROW:
            default_entry = entry if isinstance(entry, ManifestRowError) or isinstance(
                default_entry, ManifestRowError) else entry.over(default_entry)
            continue
        if filename in entries:
            earlier = entries[filename]
            if earlier != entry or isinstance(entry, ManifestRowError):
                entries[filename] = ManifestRowError(
                    f"{name} lists {filename} on rows {first_row[filename]} and {number} with different values;"
                    " keep one row for it and upload the manifest and the photo again"
                )
            continue
        first_row[filename] = number
        entries[filename] = entry
    return Manifest(name=name, defaults=default_entry, entries=entries, problems=problems)


def _entry(row: Mapping[str, Any], known: frozenset[str] | None, where: str) -> ImageMetadata | ManifestRowError:
    """A row checked against FIELDS: its metadata, or the first problem (the row and column named)."""
    values: dict[str, Any] = {}
    for spec in FIELDS.values():
        raw = row.get(spec.name)
        try:
            values[spec.name] = _value(spec, raw, known)
        except ValueError as exc:
            return ManifestRowError(f"{where.format(column=spec.name)}: {exc}; correct it and upload the manifest"
                                    " and the photo again")
    return ImageMetadata(**values)


def _value(spec: Field, raw: Any, known: frozenset[str] | None) -> Any:
    items = _items(spec, raw)
    if not spec.many:
        if len(items) > 1:
            raise ValueError(f"takes one value, got a list of {len(items)}")
        items = items[:1]
    elif len(items) > spec.many:
        raise ValueError(f"takes at most {spec.many} values, got {len(items)}")
    out = []
    for item in items:
        value = spec.normalise(item)
        if not value:
            continue
        if len(value) > spec.max_length:
            raise ValueError(f"{len(value)} characters is over the {spec.max_length} it may have")
        what = "is not a platform name" if spec.many else f"must be {spec.allowed}"
        if not spec.pattern.fullmatch(value):
            raise ValueError(f"{value[:40]!r} {what} ({spec.allowed})" if spec.many else f"{value[:40]!r} {what}")
        problem = spec.check(value) if spec.check else ""
        if problem:
            raise ValueError(f"{value!r}: {problem}")
        if spec.name == "platforms" and known is not None and value not in known:
            raise ValueError(f"{value!r} is not a platform we export to (known: {', '.join(sorted(known))})")
        out.append(value)
    if spec.many:
        return tuple(dict.fromkeys(out))
    return out[0] if out else ""


def _items(spec: Field, raw: Any) -> list[str]:
    """A field's raw value as a list of texts; a type no manifest means raises ValueError in words."""
    if raw is None:
        return []
    if isinstance(raw, bool):
        raise ValueError("is true/false, expected text")
    if isinstance(raw, int | float):
        if spec.many or spec.name in ("category", "client"):
            raise ValueError(f"is a number ({raw}), expected {'a list of names' if spec.many else 'text'}")
        return [str(int(raw)) if float(raw).is_integer() else str(raw)]
    if isinstance(raw, dict):
        raise ValueError("is an object, expected text or a list")
    if isinstance(raw, list):
        if any(isinstance(item, list | dict) for item in raw):
            raise ValueError("is a nested list or object, expected text or a flat list")
        return [str(item) for item in raw if item is not None]
    text = str(raw)
    return [p for p in _PLATFORM_SPLIT.split(text) if p] if spec.many else [text]
