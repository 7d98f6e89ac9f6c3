"""One boto3 client per service and environment: a process that changes its AWS environment gets a client that
matches it, never one built for an endpoint that is gone or with no credentials."""

from __future__ import annotations

import pytest

from packshot.adapters.aws import client, forget_clients


@pytest.fixture(autouse=True)
def fresh_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    forget_clients()


def test_the_same_environment_gets_the_same_client() -> None:
    assert client("s3") is client("s3")
    assert client("s3") is not client("dynamodb")


def test_a_client_built_without_credentials_is_not_handed_out_once_credentials_are_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bare = client("s3")  # whatever this machine's default chain finds (a profile file, or nothing)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    signed = client("s3")
    assert signed is not bare
    assert signed._request_signer._credentials.access_key == "AKIDEXAMPLE"


def test_a_new_endpoint_or_region_gets_its_own_client(monkeypatch: pytest.MonkeyPatch) -> None:
    default = client("s3")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5999")
    local = client("s3")
    assert local is not default and local.meta.endpoint_url == "http://127.0.0.1:5999"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert client("s3").meta.region_name == "eu-west-1"


def test_forgetting_clients_builds_them_again() -> None:
    before = client("s3")
    forget_clients()
    assert client("s3") is not before
