"""Batches, the platform rules a deployment uses, and the delivery package: exports by platform + manifests, zipped."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packshot.csvsafe import csv_text
from packshot.errors import PackshotError
from packshot.naming import AMAZON_NAME, safe_filename, unique_names
from packshot.platforms import PlatformSpec, load_platforms, parse_overrides
from packshot.status import Status

DEFAULT_BATCH = "default"
MANIFEST_COLUMNS = ("source", "image_id", "sku", "platform", "format", "file", "bytes", "sha256", "qc_score",
                    "width", "height", "naming_note")
# Zip entries get a fixed time so the same files make the same zip, byte for byte, on every re-run.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class DeliveryRequestError(PackshotError):
    """The deliver request does not name a batch we can package."""


def batch_for(key: str, metadata_batch: str = "") -> str:
    """The batch an upload belongs to: the `batch` metadata field if given, else its top-level folder."""
    if metadata_batch.strip():
        return metadata_batch.strip()
    top, sep, _ = key.partition("/")
    return top if sep and top.strip() else DEFAULT_BATCH


def batch_slug(batch: str) -> str:
    """The batch as one safe path segment, for the deliveries/ prefix and the zip's name.

    A readable part plus a digest of the exact batch name: making a name safe folds 'shoot 1', 'shoot-1' and
    'shoot_1' together (and a case-insensitive disk folds 'Shoot-1' in too); the digest keeps their packages apart.
    """
    readable = safe_filename(batch.replace(".", "-"), max_length=80) or DEFAULT_BATCH
    return f"{readable}-{hashlib.sha256(batch.encode('utf-8')).hexdigest()[:10]}"


def platforms_for(requested: Sequence[str] | None, default: Sequence[str]) -> list[str]:
    """The record's own platforms (from its metadata) when it has any, else the deployment's list."""
    chosen = [p.strip() for p in (requested or []) if p and p.strip()]
    return list(dict.fromkeys(chosen or default))


def load_rules(location: str, read_s3: Callable[[str, str], bytes]) -> dict[str, PlatformSpec]:
    """The shipped rules with the client's overrides merged in; `location` is s3://bucket/key or a local path."""
    if not location:
        return load_platforms()
    if location.startswith("s3://"):
        bucket, _, key = location.removeprefix("s3://").partition("/")
        text = read_s3(bucket, key).decode("utf-8")
    else:
        path = Path(location)
        if not path.is_file():
            from packshot.platforms import PlatformRulesError

            raise PlatformRulesError("PLATFORM_RULES_OVERRIDES", f"{location} is not a file (or use s3://bucket/key)")
        text = path.read_text(encoding="utf-8")
    return load_platforms(parse_overrides(text, location))


@dataclass(frozen=True)
class Package:
    """One batch's delivery: the zip, its manifests, and what was left out and why."""

    batch: str
    slug: str
    zip_bytes: bytes
    manifest_csv: bytes
    manifest_json: bytes
    rows: list[dict[str, Any]]
    not_delivered: list[dict[str, Any]] = field(default_factory=list)

    @property
    def zip_sha256(self) -> str:
        return hashlib.sha256(self.zip_bytes).hexdigest()


def build_package(batch: str, records: Iterable[Mapping[str, Any]], fetch: Callable[[str], bytes]) -> Package:
    """Every verified file of the batch's exported records, named per platform, with CSV and JSON manifests.

    Deterministic: records are taken in source-key order, names made unique within each platform folder in
    that order, and zip entries carry a fixed time. A file whose bytes no longer match the checksum the
    export recorded (overwritten since) is left out and listed with the reason.
    """
    ordered = sorted(records, key=lambda r: (str(r.get("source_key", "")), str(r.get("image_id", ""))))
    not_delivered: list[dict[str, Any]] = []
    entries: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = []
    for record in ordered:
        files = record.get("export_files") or []
        if record.get("status") != Status.EXPORTED or not files:
            not_delivered.append({"source": record.get("source_key", ""), "image_id": record.get("image_id", ""),
                                  "status": record.get("status", ""),
                                  "reasons": list(record.get("reasons", [])) + list(record.get("export_problems", []))})
            continue
        entries.extend((record, f) for f in files)
    by_platform: dict[str, list[tuple[Mapping[str, Any], Mapping[str, Any]]]] = {}
    for record, file in entries:
        by_platform.setdefault(str(file["platform"]), []).append((record, file))

    rows: list[dict[str, Any]] = []
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        for platform in sorted(by_platform):
            group = by_platform[platform]
            names = unique_names([str(f["name"]) for _, f in group])
            for (record, file), name in zip(group, names, strict=True):
                if name is None:
                    not_delivered.append({"source": record.get("source_key", ""), "image_id": record.get("image_id"),
                                          "status": "not_named", "reasons": [_no_name_left(platform, file)]})
                    continue
                data = fetch(str(file["key"]))
                digest = hashlib.sha256(data).hexdigest()
                if file.get("sha256") and digest != file["sha256"]:
                    not_delivered.append({"source": record.get("source_key", ""), "image_id": record.get("image_id"),
                                          "status": "changed", "reasons": [
                                              (f"{platform} {file.get('format')}: s3 object {file['key']} changed "
                                               "since it was exported and verified; export the image again")]})
                    continue
                path = f"{safe_filename(platform)}/{name}"
                info = zipfile.ZipInfo(path, date_time=_ZIP_TIME)
                info.compress_type = zipfile.ZIP_STORED  # JPEG, WebP, PNG are compressed already
                archive.writestr(info, data)
                rows.append({
                    "source": record.get("source_key", ""),
                    "image_id": record.get("image_id", ""),
                    "sku": record.get("sku", ""),
                    "platform": platform,
                    "format": file.get("format", ""),
                    "file": path,
                    "bytes": len(data),
                    "sha256": digest,
                    "qc_score": record.get("qc_score", ""),
                    "width": file.get("width", ""),
                    "height": file.get("height", ""),
                    "naming_note": file.get("naming_note", ""),
                })
        manifest_csv = _csv(rows)
        manifest_json = json.dumps({"batch": batch, "files": rows, "not_delivered": not_delivered},
                                   indent=2, sort_keys=True, default=str).encode("utf-8")
        for name, data in (("manifest.csv", manifest_csv), ("manifest.json", manifest_json)):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return Package(batch, batch_slug(batch), zipped.getvalue(), manifest_csv, manifest_json, rows, not_delivered)


def _no_name_left(platform: str, file: Mapping[str, Any]) -> str:
    amazon = AMAZON_NAME.match(str(file["name"]))
    if amazon:
        return (f"{platform} {file.get('format')}: {amazon['id']} already has MAIN and PT01-PT08 (or its SWCH) in "
                "this batch, and Amazon takes no more images per ID; give this photo another ID or variant, or "
                "leave another out, and deliver again")
    return f"{platform} {file.get('format')}: no free name for {file['name']}"


def _csv(rows: list[dict[str, Any]]) -> bytes:
    return csv_text(MANIFEST_COLUMNS, rows).encode("utf-8")
