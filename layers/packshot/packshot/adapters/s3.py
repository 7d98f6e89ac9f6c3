"""S3 object store adapter: bytes in, bytes out, errors typed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from packshot.adapters.aws import client, error_code, is_transient
from packshot.errors import SourceMissingError, TransientStorageError


@dataclass(frozen=True)
class ObjectInfo:
    """What S3 says about an object before we read it."""

    size: int
    etag: str
    content_type: str
    metadata: dict[str, str] = field(default_factory=dict)


class S3Store:
    """Reads and writes objects; never deletes or overwrites an original (callers pass work/export keys)."""

    def __init__(self, s3_client: Any | None = None) -> None:
        self._s3 = s3_client or client("s3")

    def head(self, bucket: str, key: str) -> ObjectInfo:
        try:
            resp = self._s3.head_object(Bucket=bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, bucket, key) from exc
        return ObjectInfo(
            size=int(resp.get("ContentLength", 0)),
            etag=str(resp.get("ETag", "")).strip('"'),
            content_type=str(resp.get("ContentType", "")),
            metadata={k.lower(): v for k, v in resp.get("Metadata", {}).items()},
        )

    def get(self, bucket: str, key: str) -> bytes:
        try:
            return bytes(self._s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, bucket, key) from exc

    def put(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        try:
            self._s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, bucket, key) from exc


def _translate(exc: Exception, bucket: str, key: str) -> Exception:
    if isinstance(exc, ClientError) and error_code(exc) in {"NoSuchKey", "404", "NotFound"}:
        return SourceMissingError(f"s3://{bucket}/{key} no longer exists; upload it again to process it")
    if is_transient(exc):
        return TransientStorageError(f"S3 call for s3://{bucket}/{key} failed transiently: {exc}")
    return exc
