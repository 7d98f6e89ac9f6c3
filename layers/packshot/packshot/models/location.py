"""Where a model file comes from (a local path or s3://bucket/key) and which sha256 it must have: pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from packshot.config import normalise_sha256
from packshot.errors import ConfigurationError
from packshot.models.catalog import by_filename


@dataclass(frozen=True)
class S3Location:
    """One object in S3 named by an s3:// URI."""

    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def filename(self) -> str:
        return PurePosixPath(self.key).name


def is_s3_uri(location: str) -> bool:
    return location.startswith("s3://")


def parse_s3_uri(uri: str) -> S3Location:
    """`s3://bucket/key/with/slashes` -> S3Location; a URI without a bucket or a file name is a ConfigurationError."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not is_s3_uri(uri) or not bucket or not key or key.endswith("/"):
        raise ConfigurationError(
            f"model location {uri!r} is not of the form s3://BUCKET/KEY naming one file (e.g. "
            "s3://my-models/u2netp/u2netp-dynamic.onnx)"
        )
    return S3Location(bucket, key)


def known_sha256(filename: str) -> str | None:
    """The checksum the catalog pins for a model file of this name (None: not a file we fetch or make)."""
    family = by_filename(filename)
    return family.file.sha256 if family is not None else None


def required_sha256(filename: str, configured: str = "") -> str | None:
    """The sha256 a model file must have: its known checksum, else the configured one, else None (unverified).

    A configured sum that contradicts the known one is a mistake in the deployment, not a reason to trust either:
    it fails before anything is downloaded.
    """
    configured = normalise_sha256(configured)
    known = known_sha256(filename)
    if known is not None and configured and configured != known:
        raise ConfigurationError(
            f"MODEL_SHA256 is {configured} but {filename} is a known model file with sha256 {known}: "
            "unset MODEL_SHA256, or rename the file if it really is another model"
        )
    return known or configured or None
