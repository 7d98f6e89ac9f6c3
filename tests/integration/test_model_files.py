"""Model files from S3 (MODEL_PATH=s3://...): downloaded once, verified by sha256, reused; errors say what to do."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from packshot.adapters.model_files import resolve_model_file
from packshot.config import Settings
from packshot.errors import ConfigurationError, ModelChecksumError, ModelSourceError
from packshot.models.catalog import FAMILIES
from packshot.models.derive import DERIVED_FILENAME, DERIVED_SHA256
from packshot.models.registry import clear_model_cache, load_model
from tests.conftest import REPO

INT8_FILENAME, INT8_SHA256 = FAMILIES["u2netp-int8"].file.filename, FAMILIES["u2netp-int8"].file.sha256

BUCKET = "studio-models"
WEIGHTS = b"not really onnx, but bytes with a checksum" * 100


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cached_files(cache: Path) -> list[Path]:
    return sorted(p for p in cache.rglob("*") if p.is_file())


@pytest.fixture()
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_a_model_on_s3_is_downloaded_verified_and_reused_without_asking_s3_again(s3: Any, tmp_path: Path) -> None:
    s3.put_object(Bucket=BUCKET, Key="cutout/v2/custom.onnx", Body=WEIGHTS)
    uri = f"s3://{BUCKET}/cutout/v2/custom.onnx"

    first = resolve_model_file(uri, expected_sha256=sha256(WEIGHTS).upper(), cache_dir=tmp_path, s3_client=s3)
    assert first.downloaded and first.verified and first.sha256 == sha256(WEIGHTS)
    assert first.path.read_bytes() == WEIGHTS and first.path.name == "custom.onnx"
    assert first.path.is_relative_to(tmp_path)

    s3.delete_object(Bucket=BUCKET, Key="cutout/v2/custom.onnx")  # a second download would now fail
    second = resolve_model_file(uri, expected_sha256=sha256(WEIGHTS), cache_dir=tmp_path, s3_client=s3)
    assert second.path == first.path and not second.downloaded and second.verified
    assert cached_files(tmp_path) == [first.path]  # no temporary file left beside it


def test_a_cached_copy_that_fails_its_checksum_is_downloaded_again(s3: Any, tmp_path: Path) -> None:
    s3.put_object(Bucket=BUCKET, Key="custom.onnx", Body=WEIGHTS)
    uri = f"s3://{BUCKET}/custom.onnx"
    path = resolve_model_file(uri, expected_sha256=sha256(WEIGHTS), cache_dir=tmp_path, s3_client=s3).path
    path.write_bytes(WEIGHTS[:100])  # truncated, as after a full disk

    again = resolve_model_file(uri, expected_sha256=sha256(WEIGHTS), cache_dir=tmp_path, s3_client=s3)
    assert again.downloaded and again.path.read_bytes() == WEIGHTS


def test_a_download_that_fails_its_checksum_names_both_sums_and_leaves_nothing_in_the_cache(
    s3: Any, tmp_path: Path
) -> None:
    s3.put_object(Bucket=BUCKET, Key="custom.onnx", Body=WEIGHTS)
    pinned = sha256(b"the file the operator meant")

    with pytest.raises(ModelChecksumError) as error:
        resolve_model_file(f"s3://{BUCKET}/custom.onnx", expected_sha256=pinned, cache_dir=tmp_path, s3_client=s3)
    assert pinned in error.value.reason and sha256(WEIGHTS) in error.value.reason
    assert "MODEL_SHA256" in error.value.reason
    assert cached_files(tmp_path) == []


@pytest.mark.parametrize(("filename", "pinned"), [(DERIVED_FILENAME, DERIVED_SHA256), (INT8_FILENAME, INT8_SHA256)])
def test_a_known_model_file_is_checked_against_its_own_checksum_without_model_sha256(
    s3: Any, tmp_path: Path, filename: str, pinned: str
) -> None:
    s3.put_object(Bucket=BUCKET, Key=filename, Body=WEIGHTS)

    with pytest.raises(ModelChecksumError, match=f"known checksum of {filename}") as error:
        resolve_model_file(f"s3://{BUCKET}/{filename}", cache_dir=tmp_path, s3_client=s3)
    assert pinned in error.value.reason and sha256(WEIGHTS) in error.value.reason
    assert cached_files(tmp_path) == []


def test_a_model_sha256_that_contradicts_a_known_files_checksum_fails_before_downloading(tmp_path: Path) -> None:
    # No S3 at all: the contradiction is a configuration mistake found without a request.
    with pytest.raises(ConfigurationError, match=DERIVED_SHA256):
        resolve_model_file(f"s3://{BUCKET}/{DERIVED_FILENAME}", expected_sha256="0" * 64, cache_dir=tmp_path,
                           s3_client=object())


def test_an_unknown_file_without_model_sha256_is_loaded_and_its_sha256_logged_so_it_can_be_pinned(
    s3: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    s3.put_object(Bucket=BUCKET, Key="custom.onnx", Body=WEIGHTS)
    with caplog.at_level(logging.WARNING, logger="packshot.adapters.model_files"):
        resolved = resolve_model_file(f"s3://{BUCKET}/custom.onnx", cache_dir=tmp_path, s3_client=s3)
    assert resolved.downloaded and not resolved.verified and resolved.path.read_bytes() == WEIGHTS
    assert sha256(WEIGHTS) in caplog.text and "MODEL_SHA256" in caplog.text


def test_a_missing_key_or_bucket_raises_a_model_source_error_naming_the_uri(s3: Any, tmp_path: Path) -> None:
    uri = f"s3://{BUCKET}/cutout/missing.onnx"
    with pytest.raises(ModelSourceError, match="no object cutout/missing.onnx") as error:
        resolve_model_file(uri, cache_dir=tmp_path, s3_client=s3)
    assert uri in error.value.reason and "ModelUri" in error.value.reason

    with pytest.raises(ModelSourceError, match="bucket no-such-bucket does not exist"):
        resolve_model_file("s3://no-such-bucket/m.onnx", cache_dir=tmp_path, s3_client=s3)
    assert cached_files(tmp_path) == []


class DeniedS3:
    """S3 as the function sees it without s3:GetObject on the object."""

    def get_object(self, **_: str) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"},
                           "ResponseMetadata": {"HTTPStatusCode": 403}}, "GetObject")


def test_access_denied_says_which_permission_on_which_object_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ModelSourceError, match="access denied") as error:
        resolve_model_file(f"s3://{BUCKET}/cutout/custom.onnx", cache_dir=tmp_path, s3_client=DeniedS3())
    assert f"s3:GetObject on arn:aws:s3:::{BUCKET}/cutout/custom.onnx" in error.value.reason
    assert cached_files(tmp_path) == []


def test_a_local_path_is_used_where_it_is_and_checked_against_model_sha256_when_given(tmp_path: Path) -> None:
    local = tmp_path / "custom.onnx"
    local.write_bytes(WEIGHTS)
    assert resolve_model_file(local).path == local
    assert resolve_model_file(local, expected_sha256=sha256(WEIGHTS)).verified
    with pytest.raises(ModelChecksumError, match=sha256(WEIGHTS)):
        resolve_model_file(local, expected_sha256="1" * 64)


@pytest.mark.parametrize("uri", ["s3://", "s3://bucket-only", "s3://bucket/", "s3://bucket/folder/"])
def test_an_s3_uri_that_names_no_file_is_a_configuration_error(uri: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="s3://BUCKET/KEY"):
        resolve_model_file(uri, cache_dir=tmp_path, s3_client=object())


def test_settings_read_the_model_location_checksum_and_cache_dir_from_the_environment() -> None:
    settings = Settings.from_env({"MODEL_PATH": " s3://b/m.onnx ", "MODEL_SHA256": "AB" * 32,
                                  "MODEL_CACHE_DIR": "/tmp/elsewhere"})
    assert (settings.model_path, settings.model_sha256, settings.model_cache_dir) == (
        "s3://b/m.onnx", "ab" * 32, "/tmp/elsewhere")
    assert Settings.from_env({}).model_cache_dir == "/tmp/packshot-models"
    with pytest.raises(ConfigurationError, match="MODEL_SHA256 must be 64 hex digits"):
        Settings.from_env({"MODEL_SHA256": "sha256:abc"})


def test_the_default_model_downloaded_from_s3_passes_its_known_checksum_and_loads(s3: Any, tmp_path: Path) -> None:
    source = REPO / "models" / DERIVED_FILENAME
    s3.upload_file(str(source), BUCKET, f"cutout/{DERIVED_FILENAME}")

    resolved = resolve_model_file(f"s3://{BUCKET}/cutout/{DERIVED_FILENAME}", cache_dir=tmp_path, s3_client=s3)
    assert resolved.verified and resolved.sha256 == DERIVED_SHA256
    clear_model_cache()
    try:
        model = load_model("u2netp-fast", resolved.path)
        assert model.path == resolved.path.resolve()
    finally:
        clear_model_cache()


def test_packshot_cutout_takes_its_model_from_s3_and_says_why_when_it_cannot(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from packshot.cli import main as packshot_main

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("MODEL_CACHE_DIR", str(tmp_path / "cache"))
    s3.put_object(Bucket=BUCKET, Key="m/" + INT8_FILENAME, Body=(REPO / "models" / INT8_FILENAME).read_bytes())
    photo = REPO / "examples" / "box_on_white.jpg"
    args = ["cutout", str(photo), "--out", str(tmp_path / "out"), "--model-path"]
    assert packshot_main([*args, f"s3://{BUCKET}/m/{INT8_FILENAME}"]) == 0
    assert (tmp_path / "out" / "box_on_white.png").is_file()
    assert [p.name for p in cached_files(tmp_path / "cache")] == [INT8_FILENAME]
    assert packshot_main([*args, f"s3://{BUCKET}/m/missing.onnx"]) == 2
    assert f"s3://{BUCKET}/m/missing.onnx" in capsys.readouterr().err
