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
# Longest export file stem; with a platform prefix and extension, far below S3's 1024-byte key limit.
_MAX_NAME = 200


def safe_name(key: str) -> str:
    """A file name from an object key that cannot escape a prefix: folders joined by '_', odd characters '-'."""
    parts = [p for p in key.split("/") if p not in ("", ".", "..")]
    stem_parts = parts[:-1] + [parts[-1].rsplit(".", 1)[0]] if parts else ["image"]
    name = "_".join(_UNSAFE.sub("-", p).strip("-.") for p in stem_parts).strip("_-.")
    if not re.search(r"[A-Za-z0-9]", name):
        name = "image"  # nothing readable left (only dots, slashes, symbols or non-Latin letters)
    if len(name) > _MAX_NAME:
        # An S3 key is at most 1024 bytes: a long key keeps its start, and a digest of the whole keeps it apart.
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
        name = name[: _MAX_NAME - len(digest) - 1].rstrip("_-.") + "-" + digest
    return name
