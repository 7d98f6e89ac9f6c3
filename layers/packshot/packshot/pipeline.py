"""The pipeline's stages as plain functions: ports in, state out. Handlers call these and nothing else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np

from packshot.config import Settings
from packshot.errors import (
    FileTooLargeError,
    ImageRejectedError,
    MetadataTooLargeError,
    SourceMissingError,
    SourceReplacedError,
)
from packshot.events import ObjectRef, safe_name
from packshot.ports import (
    BatchRecords,
    ClientFields,
    ClosingRecords,
    ObjectStore,
    Record,
    Records,
    ScannableRecords,
    Starter,
    Withdrawals,
)
from packshot.status import TERMINAL_STATUSES, UNFINISHED_STATUSES, Decision, Status


class PipelineState(ClientFields, total=False):
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
    shoot_group: str
    reference_white: list[float]
    master_key: str
    # The master at classify's working size (imaging/complexity.py working_copy): what classify reads.
    preview_key: str
    cutout_key: str
    final_key: str
    confidence: float
    gate: dict[str, Any]
    qc_score: float
    # What finishing reads from the backdrop, measured by the cutout stage (stages/backdrop.py): a few numbers.
    backdrop: dict[str, Any]


# A reviewer's corrected cutout is uploaded under this prefix of the work bucket; nothing else may be one.
CORRECTION_PREFIX = "review/"


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def start_pipeline(ref: ObjectRef, records: Records, starter: Starter, now: Callable[[], str] = utc_now) -> bool:
    """Create the image's record and its execution; True when this delivery started it (False: a duplicate)."""
    from packshot.delivery import batch_for

    state = _first_state(ref.image_id, ref.bucket, ref.key, ref.etag, ref.version_id, ref.name)
    at = now()
    records.create_if_absent(
        {
            "image_id": ref.image_id,
            # The execution working on the image: an end event of an older one must not close a redriven image.
            "execution_name": ref.image_id,
            "source_bucket": ref.bucket,
            "source_key": ref.key,
            "etag": ref.etag,
            "version_id": ref.version_id,
            "name": ref.name,
            "size_bytes": ref.size,
            # The delivery batch (top-level folder); export refines it from a `batch` metadata field.
            "batch": batch_for(ref.key),
            "status": Status.RECEIVED,
            "reasons": [],
            "created_at": at,
            "updated_at": at,
        }
    )
    # The execution name is the image id: a second start for the same object is refused by Step Functions.
    return starter.start(ref.image_id, dict(state))


def _first_state(image_id: str, bucket: str, key: str, etag: str, version_id: str, name: str) -> PipelineState:
    return {"image_id": image_id, "bucket": bucket, "key": key, "etag": etag, "version_id": version_id, "name": name}


# How Step Functions says an execution ended without finishing, as the record says it.
_ENDED = {"FAILED": (Status.FAILED, "failed"), "TIMED_OUT": (Status.FAILED, "timed out"),
          "ABORTED": (Status.STOPPED, "was stopped")}
REDRIVE_SEPARATOR = "-redrive-"


def close_ended_execution(detail: dict[str, Any], records: ClosingRecords, reviews: Withdrawals,
                          now: Callable[[], str] = utc_now) -> dict[str, Any]:
    """An execution ended FAILED, TIMED_OUT or ABORTED: its record ends `failed` or `stopped`, with the cause.

    Fed by the EventBridge rule on the state machine's status changes. A record that is terminal already (the
    state machine's own Catch wrote `failed`, or a reviewer closed it) or that a newer execution works on
    (a redrive) is left alone; open review items of the image are withdrawn, their tokens are dead.
    """
    name = str(detail.get("name", ""))
    image_id = name.split(REDRIVE_SEPARATOR, 1)[0]
    ended = _ENDED.get(str(detail.get("status", "")))
    if not image_id or ended is None:
        return {"image_id": image_id, "closed": False}
    status, verb = ended
    cause = " ".join(str(detail.get(k) or "") for k in ("error", "cause")).strip()[:2000] or "no cause given"
    fields: Record = {"status": status, "stage": "execution",
              "reasons": [f"the execution {verb} before the image finished ({cause}); `packshot redrive` starts it "
                          "again"],
              "failure": {"error": str(detail.get("error") or status), "cause": cause,
                          "execution": str(detail.get("executionArn", name))},
              "updated_at": now()}
    closed = records.close(image_id, fields, execution_name=name)
    if closed:
        from packshot.review import REVIEW, SENIOR, review_id

        for step in (REVIEW, SENIOR):
            reviews.delete(review_id(image_id, step))
    return {"image_id": image_id, "closed": closed, "status": status if closed else ""}


# A record that moved this recently may still be on its way (ingest between its record and its StartExecution,
# an SQS retry): only older ones count as stuck.
STUCK_AFTER_S = 900


def restart_unfinished(records: ScannableRecords, starter: Starter, now: Callable[[], str] = utc_now,
                       ) -> list[dict[str, Any]]:
    """Start again every image that did not finish: `failed` or `stopped`, or stuck with no execution running.

    A new execution per image (the image's own name stays taken for 90 days), from the upload the record names;
    the record says when and from what it was restarted. Images parked on a review are pending by design.
    """
    restarted = []
    for record in records.scan():
        image_id, status = str(record.get("image_id", "")), str(record.get("status", ""))
        if not image_id.startswith("img-") or not record.get("source_key"):
            continue  # a rejected message record names no upload
        running = starter.status(str(record.get("execution_name") or image_id)) == "RUNNING"
        stuck = status not in TERMINAL_STATUSES and not running and _age_s(record, now()) >= STUCK_AFTER_S
        if status not in UNFINISHED_STATUSES and not stuck:
            continue
        history = list(record.get("redrives", []))
        name = f"{image_id}{REDRIVE_SEPARATOR}{len(history) + 1}"
        at = now()
        history.append({"at": at, "status": status, "reasons": list(record.get("reasons", [])),
                        "failure": record.get("failure", {}), "execution": name})
        # Conditional on the status just read: an image that moved meanwhile is not restarted twice.
        if not records.update_if(image_id, {"status": Status.RECEIVED, "stage": "redrive", "reasons": [], "failure": {},
                                            "execution_name": name, "redrives": history, "updated_at": at},
                                 {"status": status}):
            continue
        state = _first_state(image_id, str(record.get("source_bucket", "")), str(record["source_key"]),
                             str(record.get("etag", "")), str(record.get("version_id", "")),
                             str(record.get("name", "")))
        starter.start(name, dict(state))
        restarted.append({"image_id": image_id, "from": status, "execution": name})
    return restarted


def _age_s(record: Record, at: str) -> float:
    """Seconds since the record last changed (a record without a time is old)."""
    try:
        return (datetime.fromisoformat(at) - datetime.fromisoformat(str(record["updated_at"]))).total_seconds()
    except (KeyError, ValueError, TypeError):
        return float("inf")


def record_rejection(ref_id: str, reasons: list[str], records: Records, now: Callable[[], str] = utc_now) -> None:
    """A message that cannot name an image still leaves a terminal record saying why."""
    at = now()
    # A poison message can be large: the record keeps the start of each reason, well under DynamoDB's 400 KB.
    reasons = [r[:500] for r in reasons[:20]]
    if not records.create_if_absent(
        {"image_id": ref_id, "status": Status.REJECTED, "reasons": reasons, "stage": "ingest", "created_at": at,
         "updated_at": at}
    ):
        records.update(ref_id, {"status": Status.REJECTED, "reasons": reasons, "updated_at": at})


def _this_upload(state: PipelineState) -> dict[str, str]:
    """The exact upload the event announced: a later upload of the same key is an image of its own."""
    return {"version_id": state.get("version_id", "") or "", "etag": state.get("etag", "") or ""}


def _work_key(state: PipelineState, name: str) -> str:
    return f"work/{state['image_id']}/{name}"


def preprocess(
    state: PipelineState, store: ObjectStore, records: Records, settings: Settings, now: Callable[[], str] = utc_now
) -> PipelineState:
    """Check the object's size, decode, orient, convert to sRGB, check the pixels; write the working masters.

    work/<id>/master.png (8-bit sRGB with its profile embedded, imaging/png.py) is what cutout reads and, for an
    8-bit source, the lossless editing master too; work/<id>/preview.png, the same at classify's working size, is
    what classify reads. A source with more than 8 bits also gets work/<id>/master.tif, the 16-bit editing master
    (deflate, sRGB embedded). No master carries EXIF, so no GPS position leaves this stage.
    """
    from packshot.imaging.colour import measure_shoot, shoot_group
    from packshot.imaging.complexity import working_copy
    from packshot.imaging.decode import decode_upload, encode_png
    from packshot.imaging.icc import srgb_profile
    from packshot.imaging.tiff import encode_tiff
    from packshot.manifest import batch_of

    image_id = state["image_id"]
    meta_fields: Record = {}
    try:
        info = store.head(state["bucket"], state["key"], **_this_upload(state))
        metadata, metadata_notes = _image_metadata(state, info.metadata, store, settings)
        # Before the fields go on the record and into the state: both have hard size limits.
        check_metadata_size(metadata.as_record())
        meta_fields = cast(Record, {**metadata.as_record(), "metadata_notes": metadata_notes})
        # Checked from HeadObject, before a byte is downloaded: a 2 GB upload must not fill the Lambda.
        if info.size > settings.max_object_bytes:
            raise FileTooLargeError(
                f"the file is {info.size:,} bytes, over the {settings.max_object_bytes:,} byte limit;"
                " export the photo at a lower resolution or with compression"
            )
        decoded = decode_upload(
            store.get(state["bucket"], state["key"], **_this_upload(state)), min_side=settings.min_side,
            max_pixels=settings.max_pixels,
        )
    except ImageRejectedError as exc:
        records.update(
            image_id,
            {"status": Status.REJECTED, "stage": "preprocess", "reasons": [exc.reason], **meta_fields,
             "updated_at": now()},
        )
        return {**state, "status": Status.REJECTED}
    shoot = measure_shoot(decoded.pixels)
    group = shoot_group(batch_of(state["key"]), shoot)
    master_key = _work_key(state, "master.png")
    preview_key = _work_key(state, "preview.png")
    store.put(settings.work_bucket, preview_key, encode_png(working_copy(decoded.pixels)), "image/png")
    # One encoded file in memory at a time: a 100 MP frame's PNG and TIFF are each a few hundred MB.
    encoded = encode_png(decoded.pixels, icc_profile=srgb_profile())
    store.put(settings.work_bucket, master_key, encoded, "image/png")
    editing_key = master_key
    if decoded.pixels16 is not None:
        # The 8-bit master would lose what the source had: the editing master keeps its 16 bits.
        editing_key = _work_key(state, "master.tif")
        encoded = encode_tiff(decoded.pixels16, icc_profile=srgb_profile())
        store.put(settings.work_bucket, editing_key, encoded, "image/tiff")
    del encoded
    records.update(
        image_id,
        {
            "status": Status.PROCESSING,
            "stage": "preprocess",
            "format": decoded.format,
            "source_mode": decoded.source_mode,
            "icc_profile": decoded.icc_profile or "none (assumed sRGB)",
            "width": decoded.width,
            "height": decoded.height,
            "bit_depth": decoded.bit_depth,
            "exif_orientation": decoded.exif_orientation,
            "gps_removed": decoded.had_gps,
            "decode_notes": list(decoded.notes),
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
        "status": Status.PROCESSING,
        "master_key": master_key,
        "preview_key": preview_key,
        "category": meta_fields["category"],
        "sku": meta_fields["sku"],
        # The IDs travel for the export's file names (Walmart's GTIN, Amazon's ASIN/EAN/UPC/ISBN).
        "asin": meta_fields["asin"],
        "gtin": meta_fields["gtin"],
        "ean": meta_fields["ean"],
        "upc": meta_fields["upc"],
        "isbn": meta_fields["isbn"],
        "client": meta_fields["client"],
        "platforms": meta_fields["platforms"],
        "shoot_group": group.group_id,
        "reference_white": list(group.reference_white),
    }


# Product metadata travels in the state between stages (Step Functions: 256 KiB per state, and an excess is
# States.DataLimitExceeded, which no Catch on States.ALL sees) and lives on the record (DynamoDB: 400 KB per item).
# No real category, SKU, ASIN or client name comes near these; a value that does is a broken manifest.
MAX_FIELD_CHARS = 256
MAX_PLATFORMS = 32


def check_metadata_size(fields: dict[str, Any]) -> None:
    """Refuse metadata that could not travel in the state: a field over MAX_FIELD_CHARS, too many platforms."""
    for name, value in fields.items():
        values = value if isinstance(value, list) else [value]
        if isinstance(value, list) and len(value) > MAX_PLATFORMS:
            raise MetadataTooLargeError(f"metadata field {name} lists {len(value):,} entries, over {MAX_PLATFORMS}; "
                                        "correct the manifest (or the object's metadata) and upload the photo again")
        for item in values:
            if isinstance(item, str) and len(item) > MAX_FIELD_CHARS:
                raise MetadataTooLargeError(
                    f"metadata field {name} is {len(item):,} characters, over {MAX_FIELD_CHARS}; correct the "
                    "manifest (or the object's metadata) and upload the photo again")


def _image_metadata(
    state: PipelineState, object_metadata: dict[str, str], store: ObjectStore, settings: Settings
) -> tuple[Any, list[str]]:
    """Category, IDs, client, platforms: object metadata over the batch manifest over defaults.

    A row that breaks the manifest's schema raises ManifestRowError (the photo is rejected, the rest of the
    folder goes on); a manifest that cannot be read at all is noted and ignored.
    """
    from packshot.delivery import load_rules
    from packshot.manifest import MAX_MANIFEST_BYTES, ManifestError, manifest_keys, parse_manifest, resolve
    from packshot.platforms import PlatformRulesError

    try:
        known: set[str] | None = set(load_rules(settings.platform_rules_overrides, store.get))
    except (PlatformRulesError, SourceMissingError):
        known = None  # the export stage reports broken rules; names are still checked for their form
    notes: list[str] = []
    manifest = None
    for key in manifest_keys(state["key"]):
        try:
            # Its size first: a manifest is client data, and a 2 GB one must not be downloaded to find it too big.
            info = store.head(state["bucket"], key)
            if info.size > MAX_MANIFEST_BYTES:
                notes.append(f"manifest ignored: {key} is {info.size:,} bytes, over the {MAX_MANIFEST_BYTES:,} byte "
                             "limit for a manifest")
                continue
            # The bytes of the version just measured (If-Match), not whatever replaced it since.
            data = store.get(state["bucket"], key, version_id=info.version_id, etag=info.etag)
        except SourceMissingError:
            continue
        except SourceReplacedError as exc:
            notes.append(f"manifest ignored: {exc.reason}")
            continue
        try:
            manifest = parse_manifest(data, key, known)
        except ManifestError as exc:
            # A manifest that cannot be read at all must not cost the photos: they keep object metadata.
            notes.append(f"manifest ignored: {exc.reason}")
            continue
        # Never "read" when it was read only in part: say what stopped it.
        notes.append(f"manifest: {key}" + (f" (read in part: {'; '.join(manifest.problems)})"
                                           if manifest.problems else ""))
        break
    return resolve(state["key"], manifest, object_metadata, settings.export_platforms, known), notes


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
    fields: Record = {
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
    status = state.get("status", Status.PROCESSING)
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
    gate_key = _work_key(state, "gate.png")
    store.put(settings.work_bucket, cutout_key, encode_png(cutout.pixels, cutout.alpha), "image/png")
    # The reviewer's map of where the gate's signals were found, over the photo at the gate's working size.
    store.put(settings.work_bucket, gate_key, encode_png(cutout.overlay[..., :3], cutout.overlay[..., 3]), "image/png")
    # The verdict names the cutout it judged: a corrected upload that replaces it is never covered by it.
    gate = {**cutout.verdict.as_record(), "cutout_key": cutout_key, "overlay_key": gate_key}
    records.update(
        state["image_id"],
        {
            "stage": "cutout",
            "model": result.model,
            "confidence": cutout.confidence,
            "gate": gate,
            "outputs": {"master": state["master_key"], "cutout": cutout_key, "gate_overlay": gate_key},
            "updated_at": now(),
        },
    )
    return {**state, "cutout_key": cutout_key, "confidence": cutout.confidence, "gate": gate,
            "backdrop": cutout.backdrop.to_state()}


def finish(
    state: PipelineState, store: ObjectStore, records: Records, settings: Settings, now: Callable[[], str] = utc_now
) -> PipelineState:
    """Crop to the fill, composite on pure white, verify the background and score QC; route by the score."""
    from packshot.gate import GateVerdict
    from packshot.imaging.decode import decode_png_rgba, encode_png
    from packshot.stages.backdrop import Backdrop
    from packshot.stages.finish import STATUS_OF_DECISION, finish_cutout

    rgb, alpha = decode_png_rgba(store.get(settings.work_bucket, state["cutout_key"]))
    gate = state.get("gate") or {}
    # Only the cutout the gate judged can pass it; a corrected upload has another key and goes to a person.
    verdict = GateVerdict.from_record(gate) if gate.get("cutout_key") == state["cutout_key"] else None
    done = finish_cutout(
        rgb,
        alpha,
        route=str(state.get("route", "")),
        verdict=verdict,
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
    decision, reasons = done.decision, list(done.reasons)
    if state["cutout_key"].startswith(CORRECTION_PREFIX):
        # Whatever QC says: an uploaded cutout is anybody's pixels until a person has seen it finished.
        decision = Decision.REVIEW
        reasons.insert(0, "corrected cutout: finished and scored again; a person checks the result before export")
    status = STATUS_OF_DECISION[decision]
    records.update(
        state["image_id"],
        {
            "stage": "finish",
            "status": status,
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
            "reasons": reasons,
            "outputs": {"master": state["master_key"], "cutout": state["cutout_key"], "final": final_key,
                        **({"gate_overlay": gate["overlay_key"]} if verdict is not None else {})},
            "updated_at": now(),
        },
    )
    return {**state, "final_key": final_key, "decision": decision, "status": status, "qc_score": qc.score}


def _reference_white(state: PipelineState) -> tuple[float, float, float] | None:
    white = state.get("reference_white")
    return (float(white[0]), float(white[1]), float(white[2])) if white and len(white) == 3 else None


def export(
    state: PipelineState, store: ObjectStore, records: Records, settings: Settings, now: Callable[[], str] = utc_now
) -> PipelineState:
    """Render each platform's files, verify each decoded file against its rules, deliver only what passes.

    Platforms come from the image's metadata, else the deployment's EXPORT_PLATFORMS; the rules from
    platforms.json with the client's overrides. Files land at exports/<platform>/<source name>-<image id>.<ext>;
    the record lists each with the name the delivery package gives it, its size and its sha256.
    """
    import hashlib

    from packshot.delivery import batch_for, load_rules, platforms_for
    from packshot.imaging.decode import decode_png_rgba
    from packshot.imaging.export import Frames, render, verify_export
    from packshot.naming import file_name

    rgb, alpha = decode_png_rgba(store.get(settings.work_bucket, state["final_key"]))
    rules = load_rules(settings.platform_rules_overrides, store.get)
    metadata = _naming_metadata(state, store)
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


def _naming_metadata(state: PipelineState, store: ObjectStore) -> dict[str, str]:
    """IDs for file names: the source object's metadata (asin, ean, upc, gtin, view, variant, batch), then state's."""
    try:
        metadata = dict(store.head(state["bucket"], state["key"], **_this_upload(state)).metadata)
    except ImageRejectedError:
        metadata = {}  # the original was deleted (or replaced) after pre-processing: names fall back to the source
    for field in ("sku", "asin", "gtin", "ean", "upc", "isbn"):
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
