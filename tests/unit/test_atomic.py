"""Atomic writes: a reader sees no file or the whole file, and a failed write leaves nothing behind."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from packshot.atomic import atomic_file, write_atomically


@pytest.mark.parametrize("durable", [True, False])
def test_a_written_file_holds_the_data_and_is_readable_by_others(tmp_path: Path, durable: bool) -> None:
    target = tmp_path / "deep" / "folder" / "model.onnx"
    write_atomically(b"weights", target, durable=durable)
    assert target.read_bytes() == b"weights"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.onnx"]  # no temporary file left


def test_a_new_file_replaces_the_old_one_whole(tmp_path: Path) -> None:
    target = tmp_path / "cutout.png"
    target.write_bytes(b"old")
    with atomic_file(target) as handle:
        handle.write(b"new, ")
        assert target.read_bytes() == b"old"  # nothing shows under the final name until the block ends
        handle.write(b"longer")
    assert target.read_bytes() == b"new, longer"


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "model.onnx"
    target.write_bytes(b"verified")
    with pytest.raises(ValueError, match="checksum"), atomic_file(target) as handle:
        handle.write(b"half a downl")
        raise ValueError("checksum does not match")
    assert target.read_bytes() == b"verified"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


def test_a_write_that_fails_before_any_file_existed_leaves_none(tmp_path: Path) -> None:
    target = tmp_path / "model.onnx"
    with pytest.raises(KeyboardInterrupt), atomic_file(target) as handle:
        handle.write(b"partial")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
