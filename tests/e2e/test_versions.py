"""An object overwritten while it is in flight: every upload is processed from its own bytes, or says why not."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from packshot.adapters.s3 import S3Store
from packshot.errors import SourceReplacedError

RED, BLUE = (200, 30, 30), (30, 30, 200)


def box_photo(colour: tuple[int, int, int]) -> bytes:
    pixels = np.full((1000, 1000, 3), 250, np.uint8)
    pixels[250:750, 300:700] = colour
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=92)
    return out.getvalue()


def centre_colour(data: bytes) -> tuple[int, ...]:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    return tuple(int(v) for v in image.getpixel((image.width // 2, image.height // 2)))


def near(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return max(abs(x - y) for x, y in zip(a, b, strict=True)) < 40


def test_an_upload_overwritten_in_flight_is_its_own_image_made_from_its_own_bytes(embedded) -> None:
    aws = embedded
    s3 = aws.client("s3")
    # Back to back, before ingest has seen the first notification.
    s3.put_object(Bucket=aws.input_bucket, Key="race/k.jpg", Body=box_photo(RED))
    s3.put_object(Bucket=aws.input_bucket, Key="race/k.jpg", Body=box_photo(BLUE))

    aws.wait(["race/k.jpg"], timeout_s=300)
    records = [r for r in aws.records() if r.get("source_key") == "race/k.jpg"]

    assert len(records) == 2
    colours = []
    for record in records:
        assert record["status"] == "exported", record
        (key,) = {record["exports"]["amazon_main"]}
        colours.append(centre_colour(s3.get_object(Bucket=aws.export_bucket, Key=key)["Body"].read()))
    assert sorted(near(c, RED) for c in colours) == [False, True], colours  # one red, one blue: nothing lost
    assert any(near(c, BLUE) for c in colours)
    assert len({r["exports"]["amazon_main"] for r in records}) == 2
    assert all(r["version_id"] for r in records), "each record names the exact version it was made from"


def test_without_a_version_id_the_etag_guards_the_read_and_a_replaced_object_is_not_read(
        embedded_without_event_sources) -> None:
    aws = embedded_without_event_sources
    s3 = aws.client("s3")
    bucket = aws.work_bucket  # not versioned: the old bytes are gone once overwritten
    first = s3.put_object(Bucket=bucket, Key="k.jpg", Body=b"red bytes")["ETag"].strip('"')
    s3.put_object(Bucket=bucket, Key="k.jpg", Body=b"blue bytes")
    store = S3Store(s3)

    with pytest.raises(SourceReplacedError, match="replaced"):
        store.get(bucket, "k.jpg", etag=first)
    with pytest.raises(SourceReplacedError, match="replaced"):
        store.head(bucket, "k.jpg", etag=first)
    assert store.get(bucket, "k.jpg") == b"blue bytes"
