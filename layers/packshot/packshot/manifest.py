"""Per-image metadata (category, SKU or ASIN, client, platforms) from a batch manifest or S3 object metadata."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from packshot.errors import PackshotError

# The manifest sits beside the photos, under the same prefix; either name works, CSV is read first.
MANIFEST_NAMES = ("manifest.csv", "manifest.json")
# A manifest is a text file listing photos: anything bigger is not one (and would be slow to read per image).
MAX_MANIFEST_BYTES = 5_000_000
# A row whose filename is this gives the batch's defaults.
DEFAULTS_ROW = "*"
_PLATFORM_SPLIT = re.compile(r"[;,|\s]+")


class ManifestError(PackshotError):
    """The batch manifest cannot be read; its images fall back to object metadata and defaults."""


@dataclass(frozen=True)
class ImageMetadata:
    """What the client told us about one photo; empty strings/tuples mean "not given"."""

    category: str = ""
    sku: str = ""
    asin: str = ""
    client: str = ""
    platforms: tuple[str, ...] = ()

    def over(self, base: ImageMetadata) -> ImageMetadata:
        """These values where given, base's elsewhere."""
        return replace(base, **{f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)})

    def as_record(self) -> dict[str, Any]:
        return {"category": self.category, "sku": self.sku, "asin": self.asin, "client": self.client,
                "platforms": list(self.platforms)}


@dataclass(frozen=True)
class Manifest:
    """A parsed manifest: batch defaults and one entry per file name."""

    defaults: ImageMetadata
    entries: Mapping[str, ImageMetadata]

    def lookup(self, key: str) -> ImageMetadata:
        """Entry for an object key: matched on the key relative to the manifest's folder, then the file name."""
        name = key.rsplit("/", 1)[-1]
        entry = self.entries.get(key) or self.entries.get(name) or ImageMetadata()
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


def parse_manifest(data: bytes, name: str) -> Manifest:
    """Parse manifest.csv (a header row with `filename` and any of the fields) or manifest.json.

    JSON is either a list of objects with `filename`, or {"defaults": {...}, "images": {filename: {...}}}
    (or "images" as such a list). Platforms are a list in JSON, separated by ';', '|' or spaces in CSV.
    """
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"{name} is {len(data)} bytes, over the {MAX_MANIFEST_BYTES} byte limit for a manifest")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{name} is not UTF-8 text ({exc}); save it as UTF-8 CSV or JSON") from exc
    if name.lower().endswith(".json"):
        return _parse_json(text, name)
    return _parse_csv(text, name)


def from_object_metadata(metadata: Mapping[str, str]) -> ImageMetadata:
    """Metadata from S3 user metadata (x-amz-meta-category, -sku, -asin, -client, -platforms)."""
    lowered = {k.lower().removeprefix("x-amz-meta-"): v for k, v in metadata.items()}
    return _entry(lowered)


def resolve(key: str, manifest: Manifest | None, object_metadata: Mapping[str, str],
            default_platforms: Iterable[str]) -> ImageMetadata:
    """Object metadata over the manifest's row over the manifest's defaults over the deployment's defaults."""
    result = ImageMetadata(platforms=tuple(default_platforms))
    if manifest is not None:
        result = manifest.lookup(key).over(result)
    return from_object_metadata(object_metadata).over(result)


def _parse_csv(text: str, name: str) -> Manifest:
    # The csv module stops at fields over 128 KB with a bare csv.Error (process-wide limit); a manifest is at most
    # MAX_MANIFEST_BYTES, so any field in it is read, and pre-processing refuses an oversized value with a reason.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_MANIFEST_BYTES))
    try:
        reader = csv.DictReader(io.StringIO(text))
        columns = {(c or "").strip().lower() for c in reader.fieldnames or []}
        if "filename" not in columns:
            raise ManifestError(f"{name} has no 'filename' column (found {sorted(columns) or 'no header'})")
        rows = []
        for row in reader:
            rows.append({(k or "").strip().lower(): (v or "") for k, v in row.items() if k is not None})
    except csv.Error as exc:
        raise ManifestError(f"{name} is not a CSV file we can read ({exc})") from exc
    return _build(rows, ImageMetadata(), name)


def _parse_json(text: str, name: str) -> Manifest:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ManifestError(f"{name} is not valid JSON ({exc})") from exc
    defaults = ImageMetadata()
    images: Any = document
    if isinstance(document, dict):
        if not isinstance(document.get("defaults", {}), dict):
            raise ManifestError(f"{name}: 'defaults' must be an object")
        defaults = _entry(document.get("defaults", {}))
        images = document.get("images", [])
        if isinstance(images, dict):
            images = [{**(v if isinstance(v, dict) else {}), "filename": k} for k, v in images.items()]
    if not isinstance(images, list) or not all(isinstance(i, dict) for i in images):
        raise ManifestError(f"{name}: expected a list of objects with 'filename', or an 'images' object")
    return _build(images, defaults, name)


def _build(rows: list[dict[str, Any]], defaults: ImageMetadata, name: str) -> Manifest:
    entries: dict[str, ImageMetadata] = {}
    for number, row in enumerate(rows, start=1):
        filename = str(row.get("filename") or "").strip()
        if not filename:
            raise ManifestError(f"{name}: row {number} has no filename")
        entry = _entry(row)
        if filename == DEFAULTS_ROW:
            defaults = entry.over(defaults)
        else:
            entries[filename] = entry
    return Manifest(defaults=defaults, entries=entries)


def _entry(row: Mapping[str, Any]) -> ImageMetadata:
    platforms = row.get("platforms") or ()
    if isinstance(platforms, str):
        platforms = _PLATFORM_SPLIT.split(platforms)
    return ImageMetadata(
        category=str(row.get("category") or "").strip().lower(),
        sku=str(row.get("sku") or "").strip(),
        asin=str(row.get("asin") or "").strip().upper(),
        client=str(row.get("client") or "").strip(),
        platforms=tuple(dict.fromkeys(str(p).strip().lower() for p in platforms if str(p).strip())),
    )
