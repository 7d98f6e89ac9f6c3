"""Export: render each platform's files from the finished image, verify each decoded file, store what passes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from packshot.config import Settings
from packshot.delivery import batch_for, load_rules, platforms_for
from packshot.errors import (
    ImageRejectedError,
)
from packshot.events import safe_name
from packshot.imaging.export import Frames, render, verify_export
from packshot.imaging.png import decode_png_rgba
from packshot.naming import file_name
from packshot.pipeline import PipelineState, this_upload, utc_now
from packshot.ports import ObjectStore, Records
from packshot.status import Status


def run(
    state: PipelineState, store: ObjectStore, records: Records, settings: Settings, now: Callable[[], str] = utc_now
) -> PipelineState:
    """Render each platform's files, verify each decoded file against its rules, deliver only what passes.

    Platforms come from the image's metadata, else the deployment's EXPORT_PLATFORMS; the rules from
    platforms.json with the client's overrides. Files land at exports/<platform>/<source name>-<image id>.<ext>;
    the record lists each with the name the delivery package gives it, its size and its sha256.
    """

    rgb, alpha = decode_png_rgba(store.get(settings.work_bucket, state["final_key"]))
    rules = load_rules(settings.platform_rules_overrides, store.get)
    metadata = naming_metadata(state, store)
    batch = batch_for(state["key"], metadata.get("batch", ""))
    exports: dict[str, str] = {}
    files: list[dict[str, Any]] = []
    problems: list[str] = []
    notes: list[str] = []
    frames: Frames = {}  # what one platform's file made of the canvas, another with the same frame reuses
    for platform in platforms_for(state.get("platforms"), settings.export_platforms):
        spec = rules.get(platform)
        if spec is None:
            problems.append(f"{platform}: no such platform in the rules (known: {', '.join(sorted(rules))})")
            continue
        # Where a platform takes WebP, the JPEG beside it is the fallback for tools that do not.
        for fmt in spec.formats:
            rendered = render(rgb, alpha, spec, fmt, frames)
            check = verify_export(rendered.data, spec, rendered.alpha, fmt, decoded=rendered.decoded)
            if not check.ok:
                problems.append(f"{platform} {fmt}: not delivered: {'; '.join(check.problems)}")
                continue
            key = export_key(platform, state, rendered.extension)
            store.put(settings.export_bucket, key, rendered.data, _MEDIA_TYPES[fmt])
            named = file_name(spec.naming, metadata, state["key"], platform, rendered.extension, batch)
            if named.note and named.note not in notes:
                notes.append(named.note)
            exports.setdefault(platform, key)
            files.append({
                "platform": platform, "format": fmt, "key": key, "name": named.name, "naming_note": named.note,
                "bytes": len(rendered.data), "sha256": hashlib.sha256(rendered.data).hexdigest(),
                "width": rendered.width, "height": rendered.height, "quality": rendered.quality,
                "downscaled": rendered.downscaled, "fill": check.fill,
            })
    status = Status.EXPORTED if exports else Status.REJECTED
    records.update(
        state["image_id"],
        {
            "stage": "export",
            "status": status,
            "batch": batch,
            "exports": exports,
            "export_files": files,
            "export_problems": problems,
            "naming_notes": notes,
            "updated_at": now(),
        },
    )
    return {**state, "status": status}


def export_key(platform: str, state: PipelineState, extension: str) -> str:
    """exports/<platform>/<readable source name>-<image id>.<ext>: the name alone can collide (IMG_1.jpg and
    IMG_1.png, sub/x.jpg and sub_x.jpg, a b.jpg and a-b.jpg), the image id cannot, and it names the record."""
    return f"exports/{platform}/{safe_name(state['key'])}-{state['image_id']}.{extension}"


_MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "TIFF": "image/tiff"}


def naming_metadata(state: PipelineState, store: ObjectStore) -> dict[str, str]:
    """IDs for file names: the source object's metadata (asin, ean, upc, gtin, view, variant, batch), then state's."""
    try:
        metadata = dict(store.head(state["bucket"], state["key"], **this_upload(state)).metadata)
    except ImageRejectedError:
        metadata = {}  # the original was deleted (or replaced) after pre-processing: names fall back to the source
    for field in ("sku", "asin", "gtin", "ean", "upc", "isbn"):
        value = state.get(field)
        if isinstance(value, str) and value.strip():
            metadata[field] = value.strip()
    return metadata


