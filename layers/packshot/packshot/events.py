"""Parsing S3 notifications (as delivered in SQS message bodies) into object references."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from urllib.parse import unquote_plus

from packshot.errors import PackshotError


class MalformedEventError(PackshotError):
    """A queue message is not an S3 notification we understand; it cannot name an image."""


@dataclass(frozen=True)
class ObjectRef:
    """One uploaded object, identified by what S3 says about it (not by the message that carried it)."""

    bucket: str
    key: str
    etag: str
    version_id: str
    size: int

    @property
    def image_id(self) -> str:
        """Deterministic id: the same object delivered twice gets the same id, and so one execution."""
        identity = "\0".join((self.bucket, self.key, self.version_id, self.etag))
        return "img-" + hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]


def parse_s3_notification(body: str) -> list[ObjectRef]:
    """Object references in one message body; [] for the s3:TestEvent that S3 sends on set-up."""
    try:
        message = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise MalformedEventError(f"message body is not JSON: {str(body)[:80]!r}") from exc
    if not isinstance(message, dict):
        raise MalformedEventError("message body is JSON but not an object")
    if message.get("Event") == "s3:TestEvent":
        return []
    records = message.get("Records")
    if not isinstance(records, list):
        raise MalformedEventError("message body has no 'Records' list: not an S3 event notification")
    refs = []
    for record in records:
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        try:
            s3 = record["s3"]
            obj = s3["object"]
            refs.append(
                ObjectRef(
                    bucket=str(s3["bucket"]["name"]),
                    # S3 URL-encodes keys with '+' for spaces.
                    key=unquote_plus(str(obj["key"])),
                    etag=str(obj.get("eTag", "")),
                    version_id=str(obj.get("versionId", "") or ""),
                    size=int(obj.get("size", 0)),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedEventError(f"S3 record lacks {exc}: cannot tell which object was uploaded") from exc
    return refs


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(key: str) -> str:
    """A file name from an object key that cannot escape a prefix: folders joined by '_', odd characters '-'."""
    parts = [p for p in key.split("/") if p not in ("", ".", "..")]
    stem_parts = parts[:-1] + [parts[-1].rsplit(".", 1)[0]] if parts else ["image"]
    name = "_".join(_UNSAFE.sub("-", p).strip("-.") for p in stem_parts)
    return name.strip("_") or "image"
