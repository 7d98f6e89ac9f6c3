"""Bad input: a generated corpus of odd files, keys and messages -> each ends with a settled record and a clear
reason, no unhandled exception, no stuck execution, the original untouched. `python -m evidence.bad_inputs`."""

from __future__ import annotations

import argparse
import io
import json
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from evidence import broken_files as bf
from evidence.common import embedded, originals_untouched, print_json, product_photo, settle
from packshot.status import Status

# The size limit the run sets (pre-processing reads MAX_OBJECT_BYTES); the "too big" case is just over it.
SIZE_LIMIT = 3_000_000


def _save(image: Image.Image, fmt: str, **kwargs: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def _photo(mode: str = "RGB", size: int = 1000) -> Image.Image:
    return Image.open(io.BytesIO(product_photo(3, size))).convert(mode)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height (a decompression bomb's header) with one tiny compressed row."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _exif_oriented(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _save(_photo().resize((1200, 1000)), "JPEG", exif=exif.tobytes())


def _huge_exif() -> bytes:
    exif = Image.Exif()
    exif[0x9286] = "x" * 60_000  # UserComment: a JPEG APP1 segment holds at most 64 KB
    return _save(_photo(), "JPEG", exif=exif.tobytes())


def _multipage_tiff() -> bytes:
    page = _photo()
    # Deflated, so a size-limited run refuses it for its pages, not its 6 MB.
    return _save(page, "TIFF", save_all=True, append_images=[page.rotate(90)], compression="tiff_deflate")


def _animated_gif() -> bytes:
    frame = _photo().convert("P")
    return _save(frame, "GIF", save_all=True, append_images=[frame.rotate(10)], duration=100, loop=0)


def _palette_png_with_transparency() -> bytes:
    image = _photo().convert("P", palette=Image.Palette.ADAPTIVE, colors=32)
    return _save(image, "PNG", transparency=0)


def _sixteen_bit_tiff() -> bytes:
    import tifffile

    rgb = np.asarray(_photo()).astype(np.uint16) * 257
    buffer = io.BytesIO()
    # Deflated: uncompressed it is 6 MB, over the run's 3 MB object limit, and would test only that.
    tifffile.imwrite(buffer, rgb, photometric="rgb", compression="zlib", predictor=True)
    return buffer.getvalue()


def _pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def _too_big() -> bytes:
    # A real JPEG padded with noise past the limit: only the size check can stop it cheaply.
    return product_photo(5) + np.random.default_rng(1).integers(0, 256, SIZE_LIMIT, dtype=np.uint8).tobytes()


def _png(image: Image.Image) -> bytes:
    return _save(image, "PNG")


def _png_header(width: int, height: int) -> bytes:
    """A PNG header alone: a photo's size without its pixels (what a 200 MP phone file says first)."""
    return b"\x89PNG\r\n\x1a\n" + bf._png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) \
        + bf._png_chunk(b"IEND", b"")


def _cr3_header() -> bytes:
    """The start of a CR3 (ISO media, brand 'crx ') whose movie box runs past the end of the file."""
    return struct.pack(">I", 24) + b"ftypcrx \0\0\0\1crx isom" + struct.pack(">I", 5_000_000) + b"moov" + b"\0" * 500


def _adobe_rgb_by_exif() -> bytes:
    return bf.exif_colour_space_jpeg(np.asarray(_photo()), 0xFFFF, "R03")


# Rows of the manifest uploaded beside the "manifest/" photos before them (a manifest gets no record).
MANIFEST_KEY = "manifest/manifest.json"
MANIFEST_ROWS = [
    {"filename": "wrong-type.jpg", "platforms": 5},
    {"filename": "list-of-one.jpg", "category": ["jewelry"]},
    {"filename": "two-categories.jpg", "category": ["jewelry", "home"]},
    {"filename": "too-long.jpg", "sku": "X" * 5000},
    {"filename": "twice.jpg", "sku": "PS-1"},
    {"filename": "twice.jpg", "sku": "PS-2"},
    {"filename": "bad-gtin.jpg", "gtin": "00012345678906"},
    {"filename": "walmart.jpg", "gtin": "00012345678905", "platforms": ["walmart"]},
]


@dataclass(frozen=True)
class Case:
    """One kind of bad (or merely unusual) input; `data` None means a message, not an upload."""

    kind: str
    key: str
    make: Callable[[], bytes] | None = None
    message: str | None = None


def corpus() -> list[Case]:
    long_key = "long/" + "very-long-folder-name-" * 40 + "photo.jpg"
    return [
        Case("zero bytes", "bad/zero-bytes.jpg", lambda: b""),
        Case("truncated JPEG", "bad/truncated.jpg", lambda: product_photo(1)[:2000]),
        Case("HTML named .jpg", "bad/page.jpg", lambda: b"<!doctype html><html><body>404</body></html>"),
        Case("PDF", "bad/spec-sheet.pdf", _pdf),
        Case("1x1 pixel", "bad/pixel.png", lambda: _save(Image.new("RGB", (1, 1), "white"), "PNG")),
        Case("999 px", "bad/side-999.jpg", lambda: _save(_photo().resize((999, 700)), "JPEG")),
        Case("30,000 px bomb header", "bad/bomb.png", lambda: _png_header_only(30_000, 30_000)),
        Case("CMYK JPEG", "odd/cmyk.jpg", lambda: _save(_photo("CMYK"), "JPEG")),
        Case("16-bit TIFF", "odd/sixteen-bit.tif", _sixteen_bit_tiff),
        Case("multi-page TIFF", "odd/multipage.tif", _multipage_tiff),
        Case("animated GIF", "odd/animated.gif", _animated_gif),
        Case("palette PNG with transparency", "odd/palette.png", _palette_png_with_transparency),
        Case("EXIF orientation 3", "odd/orientation-3.jpg", lambda: _exif_oriented(3)),
        Case("EXIF orientation 6", "odd/orientation-6.jpg", lambda: _exif_oriented(6)),
        Case("EXIF orientation 8", "odd/orientation-8.jpg", lambda: _exif_oriented(8)),
        Case("grayscale", "odd/grayscale.jpg", lambda: _save(_photo("L"), "JPEG")),
        Case("huge EXIF", "odd/huge-exif.jpg", _huge_exif),
        Case("RGBA PNG", "odd/rgba.png", lambda: _save(_photo("RGBA"), "PNG")),
        Case("WebP", "odd/photo.webp", lambda: _save(_photo(), "WEBP", quality=90)),
        Case("key with spaces", "shoot 01/my photo.jpg", lambda: product_photo(11)),
        Case("unicode key", "produits/crème brûlée 商品.jpg", lambda: product_photo(12)),
        Case("key with +", "a+b/c+d.jpg", lambda: product_photo(13)),
        Case("key with ../", "../../etc/passwd.jpg", lambda: product_photo(14)),
        Case("key that is only ..", "..", lambda: product_photo(15)),
        Case("very long key", long_key[:1000], lambda: product_photo(16)),
        Case("object over the size limit", "bad/too-big.jpg", _too_big),
        Case("object deleted before processing", "bad/deleted.jpg", None, message="deleted"),
        # Damage decoders hide, files read wrong before, empty frames (issue 12).
        Case("JPEG with a damaged restart interval", "corrupt/interval.jpg", bf.damaged_restart_interval_jpeg),
        Case("JPEG header claiming 12000x8000 over 1 MP", "corrupt/sof.jpg", bf.lying_sof_jpeg),
        Case("cut JPEG with its end marker", "corrupt/cut-eoi.jpg", bf.cut_jpeg_with_end_marker),
        Case("PNG with a damaged IDAT (CRC)", "corrupt/idat-crc.png", bf.damaged_idat_png),
        Case("PNG with a damaged zlib stream", "corrupt/idat-zlib.png", lambda: bf.damaged_idat_png(fix_crc=True)),
        Case("16-bit CMYK TIFF", "odd/cmyk16.tif", bf.cmyk16_tiff),
        Case("16-bit planar RGB TIFF", "odd/planar16.tif", lambda: bf.planar_rgb_tiff(16, compress=True)[0]),
        Case("JPEG with an MPF gain map", "odd/ultrahdr.jpg", bf.mpf_jpeg),
        Case("Adobe RGB JPEG by EXIF (R03)", "odd/adobe-exif.jpg", _adobe_rgb_by_exif),
        Case("all white", "blank/white.jpg", lambda: bf.blank("white")),
        Case("all black", "blank/black.jpg", lambda: bf.blank("black")),
        Case("uniform grey", "blank/grey.jpg", lambda: bf.blank("grey")),
        Case("empty sweep", "blank/sweep.jpg", lambda: bf.blank("empty sweep")),
        Case("fully transparent PNG", "blank/transparent.png", lambda: bf.blank("transparent")),
        Case("1x100000 px", "blank/line.png", lambda: bf.blank("line")),
        Case("200 MP header", "bad/200mp.png", lambda: _png_header(16320, 12240)),
        Case("SVG", "bad/logo.svg", lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>'),
        Case("AVIF header", "bad/photo.avif", lambda: b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf" + b"\0" * 64),
        Case("dot-file", "bad/.DS_Store", lambda: b"\0\0\0\1Bud1" + b"\0" * 64),
        Case("truncated CR3", "bad/canon.cr3", _cr3_header),
        # Not a newline or CR: the embedded S3 answers 404 to a newline in a key and XML listings turn a CR
        # into a newline (on real S3 too, without encoding-type=url).
        Case("key with a tab", "odd/tab\there.jpg", lambda: product_photo(17)),
        Case("manifest: platforms 5", "manifest/wrong-type.jpg", lambda: product_photo(18)),
        Case("manifest: one-element list", "manifest/list-of-one.jpg", lambda: product_photo(19)),
        Case("manifest: two values for one", "manifest/two-categories.jpg", lambda: product_photo(20)),
        Case("manifest: 5000-character SKU", "manifest/too-long.jpg", lambda: product_photo(21)),
        Case("manifest: two rows for one file", "manifest/twice.jpg", lambda: product_photo(22)),
        Case("manifest: wrong GTIN check digit", "manifest/bad-gtin.jpg", lambda: product_photo(23)),
        Case("manifest: GTIN for Walmart", "manifest/walmart.jpg", lambda: product_photo(24)),
        Case("s3:TestEvent", "", None, message=json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent",
                                                            "Bucket": "x"})),
        Case("malformed SQS body", "", None, message="this is not json {"),
        Case("JSON without Records", "", None, message=json.dumps({"hello": "world"})),
    ]


def _deleted_object_notification(aws: Any, key: str) -> str:
    """The notification S3 sent for an object that was deleted before ingest got to it."""
    from urllib.parse import quote_plus

    return json.dumps({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                                    "s3": {"bucket": {"name": aws.input_bucket},
                                           "object": {"key": quote_plus(key), "size": 1234,
                                                      "eTag": "0123456789abcdef0123456789abcdef"}}}]})


def run(aws: Any) -> dict[str, Any]:
    started = time.monotonic()
    cases = corpus()
    objects = {c.key: c.make() for c in cases if c.make is not None}
    s3 = aws.client("s3")
    # The manifest first, as `packshot run` does: pre-processing reads it beside each photo.
    s3.put_object(Bucket=aws.input_bucket, Key=MANIFEST_KEY, Body=json.dumps(MANIFEST_ROWS).encode())
    for key, data in objects.items():
        s3.put_object(Bucket=aws.input_bucket, Key=key, Body=data)
    sqs = aws.client("sqs")
    messages = 0
    deleted_key = ""
    for case in cases:
        if case.message == "deleted":
            sqs.send_message(QueueUrl=aws.physical("IngestQueue"),
                             MessageBody=_deleted_object_notification(aws, case.key))
            deleted_key = case.key
        elif case.message is not None:
            sqs.send_message(QueueUrl=aws.physical("IngestQueue"), MessageBody=case.message)
            messages += 1
    keys = list(objects) + [deleted_key]
    outcome = settle(aws, keys, started)
    problems = list(outcome.problems) + originals_untouched(aws, objects)
    # Messages that name no image: malformed ones leave a rejected msg-* record, the test event none.
    from packshot.adapters.records import RecordsTable

    table = RecordsTable(aws.records_table, aws.client("dynamodb"))
    message_records = [r for r in table.scan() if str(r["image_id"]).startswith("msg-")]
    if len(message_records) != messages - 1 or any(r["status"] != Status.REJECTED or not r.get("reasons")
                                                   for r in message_records):
        problems.append(f"malformed messages left {len(message_records)} records, expected {messages - 1} rejected")
    for record in outcome.records.values():
        for key in (record.get("exports") or {}).values():
            if not key.startswith("exports/") or ".." in key.split("/"):
                problems.append(f"export key {key!r} escapes its prefix")
    kinds = {c.key or c.kind: c.kind for c in cases}
    for key, record in outcome.records.items():
        if record.get("status") == Status.FAILED:
            problems.append(f"{key!r} ended failed: {record.get('reasons')}")
    table_rows = [{"kind": kinds.get(k, k), "key": k[:60], "status": r.get("status"),
                   "reason": "; ".join(r.get("reasons") or [])[:110],
                   "files": [f["name"] for f in r.get("export_files") or []]}
                  for k, r in sorted(outcome.records.items())]
    table_rows += [{"kind": "message", "key": r["image_id"][:24], "status": r["status"],
                    "reason": "; ".join(r.get("reasons") or [])[:110], "files": []} for r in message_records]
    return {**outcome.summary(), "kinds": len(cases), "problems": problems, "rows": table_rows}


def main() -> int:
    argparse.ArgumentParser(description=__doc__).parse_args()
    # The functions' settings come from the template's parameters, as the test's run does.
    with embedded(parameters={"MaxObjectBytes": str(SIZE_LIMIT)}) as aws:
        result = run(aws)
    for row in result.pop("rows"):
        print(f"{row['kind']:<34} {row['status']:<14} {row['reason']}")
    print_json(result)
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
