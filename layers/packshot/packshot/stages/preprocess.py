"""Pre-processing: check the upload's size and metadata, decode, orient, convert to sRGB, check the pixels;
write the working masters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from packshot.config import Settings
from packshot.delivery import load_rules
from packshot.errors import (
    FileTooLargeError,
    ImageRejectedError,
    MetadataTooLargeError,
    SourceMissingError,
    SourceReplacedError,
)
from packshot.imaging.colour import measure_shoot, shoot_group
from packshot.imaging.complexity import working_copy
from packshot.imaging.decode import decode_upload
from packshot.imaging.icc import srgb_profile
from packshot.imaging.png import encode_png
from packshot.imaging.tiff import encode_tiff
from packshot.manifest import MAX_MANIFEST_BYTES, ManifestError, batch_of, manifest_keys, parse_manifest, resolve
from packshot.pipeline import PipelineState, this_upload, utc_now, work_key
from packshot.platforms import PlatformRulesError
from packshot.ports import ObjectStore, Record, Records
from packshot.status import Status


def run(
    state: PipelineState, store: ObjectStore, records: Records, settings: Settings, now: Callable[[], str] = utc_now
) -> PipelineState:
    """Check the object's size, decode, orient, convert to sRGB, check the pixels; write the working masters.

    work/<id>/master.png (8-bit sRGB with its profile embedded, imaging/png.py) is what cutout reads and, for an
    8-bit source, the lossless editing master too; work/<id>/preview.png, the same at classify's working size, is
    what classify reads. A source with more than 8 bits also gets work/<id>/master.tif, the 16-bit editing master
    (deflate, sRGB embedded). No master carries EXIF, so no GPS position leaves this stage.
    """

    image_id = state["image_id"]
    meta_fields: Record = {}
    try:
        info = store.head(state["bucket"], state["key"], **this_upload(state))
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
            store.get(state["bucket"], state["key"], **this_upload(state)), min_side=settings.min_side,
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
    master_key = work_key(state, "master.png")
    preview_key = work_key(state, "preview.png")
    preview = decoded.preview if decoded.preview is not None else working_copy(decoded.pixels)
    store.put(settings.work_bucket, preview_key, encode_png(preview), "image/png")
    # One encoded file in memory at a time: a 100 MP frame's PNG and TIFF are each a few hundred MB.
    encoded = encode_png(decoded.pixels, icc_profile=srgb_profile())
    store.put(settings.work_bucket, master_key, encoded, "image/png")
    editing_key = master_key
    if decoded.pixels16 is not None:
        # The 8-bit master would lose what the source had: the editing master keeps its 16 bits.
        editing_key = work_key(state, "master.tif")
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


