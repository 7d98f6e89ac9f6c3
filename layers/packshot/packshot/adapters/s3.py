"""S3 object store adapter: bytes in, bytes out, errors typed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from packshot.adapters.aws import client, error_code, is_transient
from packshot.errors import SourceMissingError, SourceReplacedError, TransientStorageError


@dataclass(frozen=True)
class ObjectInfo:
    """What S3 says about an object before we read it."""

    size: int
    etag: str
    content_type: str
    metadata: dict[str, str] = field(default_factory=dict)
    version_id: str = ""


class S3Store:
    """Reads and writes objects; never deletes or overwrites an original (callers pass work/export keys).

    Reads name the exact upload they mean: `version_id` (from the event, on a versioned bucket) reads that version
    whatever was uploaded since; else `etag` makes S3 refuse (412) to return anything but those bytes.
    """

    def __init__(self, s3_client: Any | None = None) -> None:
        self._s3 = s3_client or client("s3")

    def head(self, bucket: str, key: str, *, version_id: str = "", etag: str = "") -> ObjectInfo:
        try:
            resp = self._s3.head_object(Bucket=bucket, Key=key, **_exact(version_id, etag))
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, bucket, key, version_id) from exc
        return ObjectInfo(
            size=int(resp.get("ContentLength", 0)),
            etag=str(resp.get("ETag", "")).strip('"'),
            content_type=str(resp.get("ContentType", "")),
            metadata={k.lower(): v for k, v in resp.get("Metadata", {}).items()},
            version_id=str(resp.get("VersionId", "") or ""),
        )

    def get(self, bucket: str, key: str, *, version_id: str = "", etag: str = "") -> bytes:
        try:
            return bytes(self._s3.get_object(Bucket=bucket, Key=key, **_exact(version_id, etag))["Body"].read())
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, bucket, key, version_id) from exc

    def put(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        try:
            self._s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, bucket, key) from exc


def _exact(version_id: str, etag: str) -> dict[str, str]:
    """GetObject/HeadObject arguments that pin one upload: its version, else its ETag."""
    if version_id:
        return {"VersionId": version_id}
    if etag:
        return {"IfMatch": f'"{etag.strip(chr(34))}"'}
    return {}


def _translate(exc: Exception, bucket: str, key: str, version_id: str = "") -> Exception:
    code = error_code(exc) if isinstance(exc, ClientError) else ""
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0) \
        if isinstance(exc, ClientError) else 0
    if code in {"NoSuchKey", "NoSuchVersion", "404", "NotFound"} or (version_id and code == "InvalidArgument"):
        what = f"version {version_id} of s3://{bucket}/{key}" if version_id else f"s3://{bucket}/{key}"
        return SourceMissingError(f"{what} no longer exists; upload it again to process it")
    if code in {"PreconditionFailed", "412"} or status == 412:
        return SourceReplacedError(
            f"s3://{bucket}/{key} was replaced by a newer upload before these bytes were read; the bucket keeps no "
            "versions, so they are gone (the newer upload is processed as an image of its own); upload this one "
            "again under its own name to process it"
        )
    if is_transient(exc):
        return TransientStorageError(f"S3 call for s3://{bucket}/{key} failed transiently: {exc}")
    return exc
