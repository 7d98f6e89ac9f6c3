"""The pipeline's stages as plain functions: ports in, state out. Handlers call these and nothing else."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol, TypedDict

import numpy as np

from packshot.config import Settings
from packshot.errors import FileTooLargeError, ImageRejectedError, SourceMissingError
from packshot.events import ObjectRef, safe_name


class PipelineState(TypedDict, total=False):
    """What travels between states: ids and keys, never pixels (Step Functions caps payloads at 256 KiB)."""

    image_id: str
    bucket: str
    key: str
    etag: str
    version_id: str
    name: str
    status: str
    route: str
    decision: str
    category: str
    sku: str
    asin: str
    client: str
    platforms: list[str]
    shoot_group: str
    reference_white: list[float]
    master_key: str
    # The master at classify's working size (imaging/complexity.py working_copy): what classify reads.
    preview_key: str
    cutout_key: str
    final_key: str
    confidence: float
    qc_score: float
    # What finishing reads from the backdrop, measured by the cutout stage (stages/backdrop.py): a few numbers.
    backdrop: dict[str, Any]


class ObjectStore(Protocol):
    def head(self, bucket: str, key: str) -> Any: ...
    def get(self, bucket: str, key: str) -> bytes: ...
    def put(self, bucket: str, key: str, data: bytes, content_type: str) -> None: ...


class Records(Protocol):
    def create_if_absent(self, record: dict[str, Any]) -> bool: ...
    def update(self, image_id: str, fields: dict[str, Any]) -> None: ...


class BatchRecords(Protocol):
    def in_batch(self, batch: str) -> Iterable[dict[str, Any]]: ...


class Starter(Protocol):
    def start(self, name: str, payload: dict[str, Any]) -> bool: ...


# Terminal statuses: every image's record ends in exactly one of these.
EXPORTED, REJECTED, FAILED = "exported", "rejected", "failed"
# QC < 70: the machine's result is not usable; the studio redoes the shot or the retouch (reasons on the record).
REDO = "redo"
REJECTED_BY_REVIEWER, REVIEW_EXPIRED = "rejected_by_reviewer", "review_expired"
# A multi-shot product's other photos, once the editor uploaded the composite for the group.
MERGED = "merged"
TERMINAL_STATUSES = frozenset({EXPORTED, REJECTED, FAILED, REDO, REJECTED_BY_REVIEWER, REVIEW_EXPIRED, MERGED})
# Parked on a task token until a person decides: pending by design, not stuck.
NEEDS_REVIEW, NEEDS_SENIOR = "needs_review", "needs_senior"
WAITING_STATUSES = frozenset({NEEDS_REVIEW, NEEDS_SENIOR})


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def start_pipeline(ref: ObjectRef, records: Records, starter: Starter, now: Callable[[], str] = utc_now) -> bool:
    """Create the image's record and its execution; True when this delivery started it (False: a duplicate)."""
    from packshot.delivery import batch_for

    state: PipelineState = {
        "image_id": ref.image_id,
        "bucket": ref.bucket,
        "key": ref.key,
        "etag": ref.etag,
        "version_id": ref.version_id,
        "name": ref.name,
    }
    at = now()
    records.create_if_absent(
        {
            "image_id": ref.image_id,
            "source_bucket": ref.bucket,
            "source_key": ref.key,
            "etag": ref.etag,
            "version_id": ref.version_id,
            "name": ref.name,
            "size_bytes": ref.size,
            # The delivery batch (top-level folder); export refines it from a `batch` metadata field.
            "batch": batch_for(ref.key),
            "status": "received",
            "reasons": [],
            "created_at": at,
            "updated_at": at,
        }
    )
    # The execution name is the image id: a second start for the same object is refused by Step Functions.
    return starter.start(ref.image_id, dict(state))


def record_rejection(ref_id: str, reason: str, records: Records, now: Callable[[], str] = utc_now) -> None:
    """A message that cannot name an image still leaves a terminal record saying why."""
    at = now()
    if not records.create_if_absent(
        {"image_id": ref_id, "status": REJECTED, "reasons": [reason], "stage": "ingest", "created_at": at,
         "updated_at": at}
    ):
        records.update(ref_id, {"status": REJECTED, "reasons": [reason], "updated_at": at})


def _work_key(state: PipelineState, name: str) -> str:
    return f"work/{state['image_id']}/{name}"


def preprocess(
    state: PipelineState, store: ObjectStore, records: Records, settings: Settings, now: Callable[[], str] = utc_now
) -> PipelineState:
    """Check the object's size, decode, orient, convert to sRGB, check the pixels; write the working masters.

    work/<id>/master.png (8-bit sRGB, imaging/png.py) is what cutout reads; work/<id>/preview.png, the same at
    classify's working size, is what classify reads. work/<id>/master.tif is the lossless editing master:
    deflate, 16-bit where the source had it, the sRGB profile embedded, and no EXIF at all, so no GPS position
    leaves this stage.
    """
    from packshot.imaging.colour import measure_shoot, shoot_group
    from packshot.imaging.complexity import working_copy
    from packshot.imaging.decode import decode_image, encode_png
    from packshot.imaging.icc import srgb_profile
    from packshot.imaging.tiff import encode_tiff
    from packshot.manifest import batch_of

    image_id = state["image_id"]
    meta_fields: dict[str, Any] = {}
    try:
        info = store.head(state["bucket"], state["key"])
        metadata, metadata_notes = _image_metadata(state, info.metadata, store, settings)
        meta_fields = {**metadata.as_record(), "metadata_notes": metadata_notes}
        # Checked from HeadObject, before a byte is downloaded: a 2 GB upload must not fill the Lambda.
        if info.size > settings.max_object_bytes:
            raise FileTooLargeError(
                f"the file is {info.size:,} bytes, over the {settings.max_object_bytes:,} byte limit;"
                " export the photo at a lower resolution or with compression"
            )
        decoded = decode_image(
            store.get(state["bucket"], state["key"]), min_side=settings.min_side, max_pixels=settings.max_pixels
        )
    except ImageRejectedError as exc:
        records.update(
            image_id,
            {"status": REJECTED, "stage": "preprocess", "reasons": [exc.reason], **meta_fields, "updated_at": now()},
        )
        return {**state, "status": REJECTED}
    shoot = measure_shoot(decoded.pixels)
    group = shoot_group(batch_of(state["key"]), shoot)
    master_key = _work_key(state, "master.png")
    preview_key = _work_key(state, "preview.png")
    editing_key = _work_key(state, "master.tif")
    store.put(settings.work_bucket, preview_key, encode_png(working_copy(decoded.pixels)), "image/png")
    # One encoded file in memory at a time: a 100 MP frame's PNG and TIFF are each a few hundred MB.
    encoded = encode_png(decoded.pixels)
    store.put(settings.work_bucket, master_key, encoded, "image/png")
    encoded = encode_tiff(decoded.master_pixels, icc_profile=srgb_profile())
    store.put(settings.work_bucket, editing_key, encoded, "image/tiff")
    del encoded
    records.update(
        image_id,
        {
            "status": "processing",
            "stage": "preprocess",
            "format": decoded.format,
            "source_mode": decoded.source_mode,
            "icc_profile": decoded.icc_profile or "none (assumed sRGB)",
            "width": decoded.width,
            "height": decoded.height,
            "bit_depth": decoded.bit_depth,
            "exif_orientation": decoded.exif_orientation,
            "gps_removed": decoded.had_gps,
            **meta_fields,
            "shoot_group": group.group_id,
            "shoot": {
                "background": list(shoot.background),
                "brightness": shoot.brightness,
                "red_cast": shoot.red_cast,
                "blue_cast": shoot.blue_cast,
                "reference_white": list(group.reference_white),
            },
            "editing_master_key": editing_key,
            "outputs": {"master": master_key},
            "updated_at": now(),
        },
    )
    return {
        **state,
        "status": "processing",
        "master_key": master_key,
        "preview_key": preview_key,
        "category": meta_fields["category"],
        "sku": meta_fields["sku"],
        "asin": meta_fields["asin"],
        "client": meta_fields["client"],
        "platforms": meta_fields["platforms"],
        "shoot_group": group.group_id,
        "reference_white": list(group.reference_white),
    }


def _image_metadata(
    state: PipelineState, object_metadata: dict[str, str], store: ObjectStore, settings: Settings
) -> tuple[Any, list[str]]:
    """Category, SKU/ASIN, client, platforms: object metadata over the batch manifest over defaults."""
    from packshot.manifest import ManifestError, manifest_keys, parse_manifest, resolve

    notes: list[str] = []
    manifest = None
    for key in manifest_keys(state["key"]):
        try:
            data = store.get(state["bucket"], key)
        except SourceMissingError:
            continue
        try:
            manifest = parse_manifest(data, key)
        except ManifestError as exc:
            # A broken manifest must not cost the photos: they keep object metadata and defaults.
            notes.append(f"manifest ignored: {exc.reason}")
            continue
        notes.append(f"manifest: {key}")
        break
    return resolve(state["key"], manifest, object_metadata, settings.export_platforms), notes


def load_master(state: PipelineState, store: ObjectStore, settings: Settings, *, preview: bool = False) -> np.ndarray:
    """The master's pixels; with preview, its copy at classify's working size where pre-processing wrote one."""
    from packshot.imaging.decode import decode_png_rgba

    key = (state.get("preview_key") or state["master_key"]) if preview else state["master_key"]
    rgb, _ = decode_png_rgba(store.get(settings.work_bucket, key))
    return rgb


def classify(
    state: PipelineState, store: ObjectStore, records: Records, settings: Settings, now: Callable[[], str] = utc_now
) -> PipelineState:
    """Score edge complexity and colour risk and pick the route; complex images go to a human."""
    from packshot.imaging.complexity import classify as classify_pixels

    # The preview holds exactly what classify measures on, so its answer is the master's.
    result = classify_pixels(load_master(state, store, settings, preview=True), state.get("category") or None)
    fields: dict[str, Any] = {
        "stage": "classify",
        "route": result.route,
        "scores": {
            "edge_complexity": result.edge_complexity,
            "colour_risk": result.colour_risk,
            "background_uniformity": result.background_uniformity,
        },
        "route_reasons": list(result.reasons),
        "updated_at": now(),
    }
    status = state.get("status", "processing")
    if result.route == "complex":
        # Still cut out and finished: the reviewer judges a candidate, not a blank.
        fields["reasons"] = [f"complex route: {'; '.join(result.reasons)}"]
    fields["status"] = status
    records.update(state["image_id"], fields)
    return {**state, "route": result.route, "status": status}


def cut_out(
    state: PipelineState,
    store: ObjectStore,
    records: Records,
    settings: Settings,
    model: Any,
    now: Callable[[], str] = utc_now,
) -> PipelineState:
    """Remove the background with the segmentation model; keep the full-resolution RGBA cutout."""
    from packshot.imaging.decode import encode_png
    from packshot.stages.cutout import cut_out_photo

    cutout = cut_out_photo(load_master(state, store, settings), model)
    result = cutout.result
    cutout_key = _work_key(state, "cutout.png")
    store.put(settings.work_bucket, cutout_key, encode_png(cutout.pixels, cutout.alpha), "image/png")
    records.update(
        state["image_id"],
        {
            "stage": "cutout",
            "model": result.model,
            "confidence": float(result.confidence),
            "outputs": {"master": state["master_key"], "cutout": cutout_key},
            "updated_at": now(),
        },
    )
    return {**state, "cutout_key": cutout_key, "confidence": float(result.confidence),
            "backdrop": cutout.backdrop.to_state()}


def finish(
    state: PipelineState, store: ObjectStore, records: Records, settings: Settings, now: Callable[[], str] = utc_now
) -> PipelineState:
    """Crop to the fill, composite on pure white, verify the background and score QC; route by the score."""
    from packshot.imaging.decode import decode_png_rgba, encode_png
    from packshot.stages.backdrop import Backdrop
    from packshot.stages.finish import finish_cutout

    rgb, alpha = decode_png_rgba(store.get(settings.work_bucket, state["cutout_key"]))
    done = finish_cutout(
        rgb,
        alpha,
        route=str(state.get("route", "")),
        confidence=float(state.get("confidence", 1.0)),
        reference_white=_reference_white(state),
        settings=settings,
        # A reviewer's corrected cutout is of the same photo: the cutout stage's measurement still holds.
        backdrop=Backdrop.from_state(state.get("backdrop")),
    )
    qc, balance, background = done.qc, done.balance, done.background
    final_key = _work_key(state, "final.png")
    # The product's colours and alpha, not the composite: export composites on white where a platform wants it
    # and keeps the decontaminated edge where it wants transparency.
    product_rgb = done.product_rgb if done.product_rgb is not None else done.final_rgb
    store.put(settings.work_bucket, final_key, encode_png(product_rgb, done.final_alpha), "image/png")
    records.update(
        state["image_id"],
        {
            "stage": "finish",
            "status": done.status,
            "qc_score": qc.score,
            "qc_decision": qc.decision,
            "qc_parts": {
                "background": qc.background,
                "edge_quality": qc.edge_quality,
                "product_fill": qc.product_fill,
                "colour": qc.colour,
            },
            "background_check": {
                "perimeter_passed": background.perimeter_passed,
                "perimeter_samples": background.perimeter_samples,
                "non_white_background_pixels": background.non_white_background_pixels,
            },
            "colour_normalisation": {
                "gains": list(balance.gains),
                "source": balance.source,
                "shoot_group": state.get("shoot_group", ""),
                "measured_background": list(balance.measured_background or []),
                "note": balance.note,
            },
            "reasons": list(done.reasons),
            "outputs": {"master": state["master_key"], "cutout": state["cutout_key"], "final": final_key},
            "updated_at": now(),
        },
    )
    return {**state, "final_key": final_key, "decision": done.decision, "status": done.status, "qc_score": qc.score}


def _reference_white(state: PipelineState) -> tuple[float, float, float] | None:
    white = state.get("reference_white")
    return (float(white[0]), float(white[1]), float(white[2])) if white and len(white) == 3 else None


def export(
    state: PipelineState, store: ObjectStore, records: Records, settings: Settings, now: Callable[[], str] = utc_now
) -> PipelineState:
    """Render each platform's files, verify each decoded file against its rules, deliver only what passes.

    Platforms come from the image's metadata, else the deployment's EXPORT_PLATFORMS; the rules from
    platforms.json with the client's overrides. Files land at exports/<platform>/<safe source name>.<ext>;
    the record lists each with the name the delivery package gives it, its size and its sha256.
    """
    import hashlib

    from packshot.delivery import batch_for, load_rules, platforms_for
    from packshot.imaging.decode import decode_png_rgba
    from packshot.imaging.export import render, verify_export
    from packshot.naming import file_name

    rgb, alpha = decode_png_rgba(store.get(settings.work_bucket, state["final_key"]))
    rules = load_rules(settings.platform_rules_overrides, store.get)
    metadata = _naming_metadata(state, store)
    batch = batch_for(state["key"], metadata.get("batch", ""))
    exports: dict[str, str] = {}
    files: list[dict[str, Any]] = []
    problems: list[str] = []
    notes: list[str] = []
    for platform in platforms_for(state.get("platforms"), settings.export_platforms):
        spec = rules.get(platform)
        if spec is None:
            problems.append(f"{platform}: no such platform in the rules (known: {', '.join(sorted(rules))})")
            continue
        # Where a platform takes WebP, the JPEG beside it is the fallback for tools that do not.
        for fmt in spec.formats:
            rendered = render(rgb, alpha, spec, fmt)
            check = verify_export(rendered.data, spec, rendered.alpha, fmt, decoded=rendered.decoded)
            if not check.ok:
                problems.append(f"{platform} {fmt}: not delivered: {'; '.join(check.problems)}")
                continue
            key = f"exports/{platform}/{safe_name(state['key'])}.{rendered.extension}"
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
    status = EXPORTED if exports else REJECTED
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


_MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "TIFF": "image/tiff"}


def _naming_metadata(state: PipelineState, store: ObjectStore) -> dict[str, str]:
    """IDs for file names: the source object's metadata (asin, ean, upc, gtin, view, variant, batch), then state's."""
    try:
        metadata = dict(store.head(state["bucket"], state["key"]).metadata)
    except SourceMissingError:
        metadata = {}  # the original was deleted after pre-processing: names fall back to the source name
    for field in ("sku", "asin"):
        value = state.get(field)
        if isinstance(value, str) and value.strip():
            metadata[field] = value.strip()
    return metadata


def deliver(batch: str, store: ObjectStore, records: BatchRecords, settings: Settings,
            now: Callable[[], str] = utc_now) -> dict[str, Any]:
    """Package every exported image of a batch: deliveries/<batch>/<batch>.zip, manifest.csv, manifest.json.

    Re-runnable: each run packages what is exported now (images approved since are included) and
    overwrites the previous package (the export bucket is versioned, so earlier packages stay retrievable).
    """
    from packshot.delivery import DeliveryRequestError, build_package

    if not isinstance(batch, str) or not batch.strip():
        raise DeliveryRequestError("the request needs a 'batch': the top-level folder the photos were uploaded to")
    package = build_package(batch, records.in_batch(batch), lambda key: store.get(settings.export_bucket, key))
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
