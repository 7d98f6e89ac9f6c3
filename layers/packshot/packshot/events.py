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


@dataclass(frozen=True)
class Notification:
    """What one queue message says: the objects it names, and why any of its records names none."""

    refs: list[ObjectRef]
    problems: list[str]


# S3's own limit on a key: a longer one was never uploaded, and would not fit the state it would travel in.
MAX_KEY_BYTES = 1024


def parse_s3_notification(body: str, bucket: str = "") -> Notification:
    """Object references in one message body; none for the s3:TestEvent that S3 sends on set-up.

    A body that is not an S3 notification raises MalformedEventError; a record inside a notification that
    cannot name an object becomes a problem, so the good records beside it are still processed. With `bucket`,
    a record for any other bucket is a problem too: the queue is the input bucket's, and anyone allowed to send
    to it could name the work or export bucket instead.
    """
    try:
        message = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise MalformedEventError(f"message body is not JSON: {str(body)[:80]!r}") from exc
    if not isinstance(message, dict):
        raise MalformedEventError("message body is JSON but not an object")
    if message.get("Event") == "s3:TestEvent":
        return Notification([], [])
    records = message.get("Records")
    if not isinstance(records, list):
        raise MalformedEventError("message body has no 'Records' list: not an S3 event notification")
    refs, problems = [], []
    for number, record in enumerate(records, start=1):
        try:
            ref = _object_ref(record)
            if ref is not None and bucket and ref.bucket != bucket:
                raise MalformedEventError(f"names bucket {ref.bucket[:80]!r}, not the input bucket")
        except MalformedEventError as exc:
            problems.append(f"record {number}: {exc.reason}")
            continue
        if ref is not None:
            refs.append(ref)
    return Notification(refs, problems)


def _object_ref(record: object) -> ObjectRef | None:
    """The object one S3 event record names; None for an event that is not an upload."""
    if not isinstance(record, dict):
        raise MalformedEventError(f"is {type(record).__name__}, not an S3 event record object")
    event_name = record.get("eventName")
    if not isinstance(event_name, str) or not event_name:
        raise MalformedEventError("has no eventName: not an S3 event record")
    if not event_name.startswith("ObjectCreated"):
        return None  # another kind of S3 event (a notification set up for more than uploads): nothing to process
    try:
        s3 = record["s3"]
        obj, bucket = s3["object"], s3["bucket"]["name"]
        key, etag, version_id = obj["key"], obj.get("eTag", ""), obj.get("versionId", "") or ""
        size = int(obj.get("size", 0))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MalformedEventError(f"lacks or garbles {exc}: cannot tell which object was uploaded") from exc
    if not isinstance(bucket, str) or not bucket or not isinstance(key, str) or not key:
        raise MalformedEventError("names no bucket or no key")
    if len(unquote_plus(key).encode("utf-8")) > MAX_KEY_BYTES:
        raise MalformedEventError(f"names a key of {len(key):,} characters; S3 keys are at most {MAX_KEY_BYTES} bytes")
    if not isinstance(etag, str) or not isinstance(version_id, str) or not (etag or version_id):
        # Without either, no stage could tell this upload's bytes from a later upload of the same key.
        raise MalformedEventError(f"gives neither a versionId nor an eTag for {key[:80]!r}")
    # S3 URL-encodes keys with '+' for spaces.
    return ObjectRef(bucket=bucket, key=unquote_plus(key), etag=etag, version_id=version_id, size=max(size, 0))


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
