"""Model files from S3: downloaded once per execution environment into a local cache, verified by sha256."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from packshot.adapters.aws import client, error_code, is_transient
from packshot.atomic import atomic_file
from packshot.config import DEFAULT_MODEL_CACHE_DIR
from packshot.errors import ModelChecksumError, ModelSourceError, TransientStorageError
from packshot.models.fetch import sha256_of
from packshot.models.location import S3Location, is_s3_uri, known_sha256, parse_s3_uri, required_sha256

logger = logging.getLogger(__name__)

# Lambda's only writable disk; it survives between invocations of one execution environment (warm starts).
DEFAULT_CACHE_DIR = Path(DEFAULT_MODEL_CACHE_DIR)
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ResolvedModel:
    """A model file on local disk, ready for load_model, and how it got there."""

    path: Path
    location: str  # what was configured: a local path or s3://bucket/key
    sha256: str | None  # None for a local file nobody asked us to check (load_model checks known files itself)
    verified: bool  # the sha256 was compared with a required one (known checksum or MODEL_SHA256)
    downloaded: bool  # False for a local path or a cached copy reused


def resolve_model_file(
    location: str | Path,
    *,
    expected_sha256: str = "",
    cache_dir: Path | None = None,
    s3_client: Any | None = None,
) -> ResolvedModel:
    """A local file for the model at `location`; an s3:// object is downloaded once, then reused from `cache_dir`.

    The sha256 required is the catalog's for a file name it pins (packshot.models.catalog),
    else `expected_sha256` (MODEL_SHA256). A file with neither is allowed and logged with its sha256, so that an
    operator can pin it. A cached copy that fails its checksum is downloaded again; a download that fails it is
    deleted and raises ModelChecksumError, so nothing unverified stays in the cache.
    """
    location = str(location)
    if not is_s3_uri(location):
        return _local(Path(location), expected_sha256)
    source = parse_s3_uri(location)
    required = required_sha256(source.filename, expected_sha256)
    # One folder per URI: two buckets may hold different files of the same name.
    folder = hashlib.sha256(source.uri.encode("utf-8")).hexdigest()[:16]
    target = Path(cache_dir if cache_dir is not None else DEFAULT_CACHE_DIR) / folder / source.filename
    if target.is_file():
        cached = sha256_of(target)
        if required is None or cached == required:
            return ResolvedModel(target, location, cached, verified=required is not None, downloaded=False)
        logger.warning("cached model %s has sha256 %s, expected %s: downloading %s again",
                       target, cached, required, source.uri)
        target.unlink(missing_ok=True)
    actual = _download(s3_client or client("s3"), source, target, required)
    if required is None:
        logger.warning(
            "model %s has no known checksum and MODEL_SHA256 is not set, so it was loaded unverified; its sha256 "
            "is %s: set MODEL_SHA256 (template parameter ModelSha256) to that value to pin it", source.uri, actual
        )
    return ResolvedModel(target, location, actual, verified=required is not None, downloaded=True)


def _local(path: Path, expected_sha256: str) -> ResolvedModel:
    """A local path is used where it is; MODEL_SHA256, when set, is checked here (load_model knows only known sums)."""
    required = required_sha256(path.name, expected_sha256) if expected_sha256 else None
    if required is None or not path.is_file():
        return ResolvedModel(path, str(path), None, verified=False, downloaded=False)  # load_model names a missing file
    actual = sha256_of(path)
    if actual != required:
        raise ModelChecksumError(f"model file {path} has sha256 {actual}, expected {required} "
                                 f"({_origin(path.name)}): replace the file or correct MODEL_SHA256")
    return ResolvedModel(path, str(path), actual, verified=True, downloaded=False)


def _download(s3: Any, source: S3Location, target: Path, required: str | None) -> str:
    """Stream the object into a temporary file beside `target`, hash it on the way, keep it only if it verifies."""
    digest = hashlib.sha256()
    # A file that fails to download or to verify never appears under the final name (atomic_file removes it).
    with atomic_file(target) as handle:
        try:
            body = s3.get_object(Bucket=source.bucket, Key=source.key)["Body"]
            for chunk in iter(lambda: body.read(_CHUNK), b""):
                digest.update(chunk)
                handle.write(chunk)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, source) from exc
        actual = digest.hexdigest()
        if required is not None and actual != required:
            raise ModelChecksumError(
                f"{source.uri} has sha256 {actual}, expected {required} ({_origin(source.filename)}): "
                "upload the intended file there or correct MODEL_SHA256 (template parameter ModelSha256)"
            )
    return actual


def _origin(filename: str) -> str:
    return f"the known checksum of {filename}" if known_sha256(filename) else "MODEL_SHA256"


def _translate(exc: Exception, source: S3Location) -> Exception:
    code = error_code(exc) if isinstance(exc, ClientError) else ""
    where = "correct MODEL_PATH (template parameter ModelUri)"
    if code == "NoSuchBucket":
        return ModelSourceError(f"model {source.uri}: bucket {source.bucket} does not exist; create it and upload "
                                f"the model, or {where}")
    if code in {"NoSuchKey", "404", "NotFound"}:
        return ModelSourceError(f"model {source.uri}: no object {source.key} in bucket {source.bucket}; upload the "
                                f"model there or {where}")
    if code in {"AccessDenied", "403", "Forbidden", "AllAccessDisabled"}:
        return ModelSourceError(
            f"model {source.uri}: access denied; the function's role needs s3:GetObject on "
            f"arn:aws:s3:::{source.bucket}/{source.key} (the template grants exactly that when ModelUri is set), "
            "plus kms:Decrypt if the bucket uses a KMS key. Without s3:ListBucket, S3 also answers "
            "AccessDenied for a key that does not exist: check the key too"
        )
    if is_transient(exc):
        return TransientStorageError(f"downloading model {source.uri} failed transiently: {exc}")
    return ModelSourceError(f"model {source.uri} could not be downloaded ({code or type(exc).__name__}: {exc}); "
                            f"{where}")
