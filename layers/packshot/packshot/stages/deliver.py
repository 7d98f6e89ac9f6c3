"""Deliver: package a batch's exported files (zip, manifest.csv, manifest.json) for the client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from packshot.config import Settings
from packshot.delivery import DeliveryRequestError, build_package
from packshot.pipeline import utc_now
from packshot.ports import BatchRecords, ObjectStore
from packshot.status import Status


def run(batch: str, store: ObjectStore, records: BatchRecords, settings: Settings,
            now: Callable[[], str] = utc_now) -> dict[str, Any]:
    """Package every exported image of a batch: deliveries/<batch>/<batch>.zip, manifest.csv, manifest.json.

    Re-runnable: each run packages what is exported now (images approved since are included) and
    overwrites the previous package (the export bucket is versioned, so earlier packages stay retrievable).
    """

    if not isinstance(batch, str) or not batch.strip():
        raise DeliveryRequestError("the request needs a 'batch': the top-level folder the photos were uploaded to")
    batch_records = list(records.in_batch(batch))
    package = build_package(batch, batch_records, lambda key: store.get(settings.export_bucket, key))
    # What kept an exported image out of this package goes on its record too (empty once it is delivered again).
    problems: dict[str, list[str]] = {}
    for entry in package.not_delivered:
        problems.setdefault(str(entry["image_id"]), []).extend(entry["reasons"])
    for record in batch_records:
        image_id = str(record.get("image_id"))
        wanted = problems.get(image_id, []) if record.get("status") == Status.EXPORTED else []
        if record.get("status") == Status.EXPORTED and record.get("delivery_problems", []) != wanted:
            records.update(image_id, {"delivery_problems": wanted, "updated_at": now()})
    prefix = f"deliveries/{package.slug}/"
    keys = {"zip": f"{prefix}{package.slug}.zip", "manifest_csv": f"{prefix}manifest.csv",
            "manifest_json": f"{prefix}manifest.json"}
    store.put(settings.export_bucket, keys["manifest_csv"], package.manifest_csv, "text/csv")
    store.put(settings.export_bucket, keys["manifest_json"], package.manifest_json, "application/json")
    store.put(settings.export_bucket, keys["zip"], package.zip_bytes, "application/zip")
    return {
        "batch": batch,
        "bucket": settings.export_bucket,
        "keys": keys,
        "files": len(package.rows),
        "images": len({r["image_id"] for r in package.rows}),
        "not_delivered": len(package.not_delivered),
        "zip_sha256": package.zip_sha256,
        "delivered_at": now(),
    }
