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

from evidence.common import embedded, originals_untouched, print_json, product_photo, settle

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
    return _save(page, "TIFF", save_all=True, append_images=[page.rotate(90)])


def _animated_gif() -> bytes:
    frame = _photo().convert("P")
    return _save(frame, "GIF", save_all=True, append_images=[frame.rotate(10)], duration=100, loop=0)


def _palette_png_with_transparency() -> bytes:
    image = _photo().convert("P", palette=Image.Palette.ADAPTIVE, colors=32)
    return _save(image, "PNG", transparency=0)


def _sixteen_bit_tiff() -> bytes:
    try:
        import tifffile
    except ImportError:  # the formats engineer's dependency; a 16-bit greyscale TIFF from Pillow otherwise
        return _save(Image.fromarray(np.asarray(_photo("L")).astype(np.uint16) * 257), "TIFF")
    rgb = np.asarray(_photo()).astype(np.uint16) * 257
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, rgb, photometric="rgb")
    return buffer.getvalue()


def _pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def _too_big() -> bytes:
    # A real JPEG padded with noise past the limit: only the size check can stop it cheaply.
    return product_photo(5) + np.random.default_rng(1).integers(0, 256, SIZE_LIMIT, dtype=np.uint8).tobytes()


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
    if len(message_records) != messages - 1 or any(r["status"] != "rejected" or not r.get("reasons")
                                                   for r in message_records):
        problems.append(f"malformed messages left {len(message_records)} records, expected {messages - 1} rejected")
    for record in outcome.records.values():
        for key in (record.get("exports") or {}).values():
            if not key.startswith("exports/") or ".." in key.split("/"):
                problems.append(f"export key {key!r} escapes its prefix")
    kinds = {c.key or c.kind: c.kind for c in cases}
    table_rows = [{"kind": kinds.get(k, k), "key": k[:60], "status": r.get("status"),
                   "reason": "; ".join(r.get("reasons") or [])[:110]} for k, r in sorted(outcome.records.items())]
    table_rows += [{"kind": "message", "key": r["image_id"][:24], "status": r["status"],
                    "reason": "; ".join(r.get("reasons") or [])[:110]} for r in message_records]
    return {**outcome.summary(), "kinds": len(cases), "problems": problems, "rows": table_rows}


def main() -> int:
    argparse.ArgumentParser(description=__doc__).parse_args()
    import os

    os.environ["MAX_OBJECT_BYTES"] = str(SIZE_LIMIT)
    with embedded() as aws:
        result = run(aws)
    for row in result.pop("rows"):
        print(f"{row['kind']:<34} {row['status']:<14} {row['reason']}")
    print_json(result)
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
