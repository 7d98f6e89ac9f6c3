"""The cutout container image installs only functions/cutout/requirements.txt: its handler must need no more.

The image cannot be built here (no Docker), so this checks what the image would lack: it runs the cutout
handler's stage in a fresh interpreter and lists the third-party modules it imported, it reads the Dockerfile for
how it makes its model files and checks them, and it runs that check (packshot.models.describe) on good and bad
folders.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from packshot.models import describe
from packshot.models.catalog import FAMILIES, Derived, sha256_of
from packshot.models.derive import derive
from tests.conftest import REPO

# Import names of the distributions in functions/cutout/requirements.txt (and what they pull in).
ALLOWED_TOP_LEVEL = {
    "aws_lambda_powertools", "aws_xray_sdk", "wrapt", "jmespath", "typing_extensions",
    "PIL", "numpy", "isal", "onnxruntime", "boto3", "botocore", "s3transfer", "dateutil", "urllib3", "six",
    "flatbuffers", "packaging", "google", "coloredlogs", "humanfriendly", "sympy", "mpmath", "certifi",
    "charset_normalizer", "idna", "requests", "packshot",
}

PROBE = """
import json, os, sys, importlib.util
before = set(sys.modules)
os.environ.update(RECORDS_TABLE="records", WORK_BUCKET="work", AWS_DEFAULT_REGION="us-east-1",
                  POWERTOOLS_TRACE_DISABLED="true", POWERTOOLS_METRICS_DISABLED="true")
spec = importlib.util.spec_from_file_location("cutout_app", "functions/cutout/app.py")
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)  # module scope: clients, settings, the model session
import numpy as np
from packshot.cutout import cut_out
from packshot.imaging.png import decode_png_rgba, encode_png
rgb = np.full((300, 300, 3), 250, np.uint8); rgb[80:220, 100:200] = (30, 60, 160)
result = cut_out(rgb, app.model)
decode_png_rgba(encode_png(rgb, result.alpha))
print(json.dumps(sorted({m.split(".")[0] for m in set(sys.modules) - before})))
"""


def test_the_cutout_stage_imports_nothing_its_image_does_not_install(model_file) -> None:
    requirements = (REPO / "functions" / "cutout" / "requirements.txt").read_text()
    assert {"onnxruntime", "pillow", "numpy"} <= set(re.findall(r"^([a-z0-9_-]+)", requirements, re.MULTILINE))
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr
    imported = set(json.loads(result.stdout.strip().splitlines()[-1]))
    third_party = {m for m in imported if m not in sys.stdlib_module_names and not m.startswith("_")}
    assert third_party - ALLOWED_TOP_LEVEL == set(), "the cutout image would lack these modules"


def _instructions(dockerfile: str) -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    kept = "\n".join(line for line in dockerfile.splitlines() if not line.lstrip().startswith("#"))
    text = re.sub(r"\\\n", " ", kept)
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def test_the_image_makes_each_of_its_model_files_by_the_catalog_and_checks_them_all_last() -> None:
    dockerfile = (REPO / "functions" / "cutout" / "Dockerfile").read_text()
    assert not re.search(r"[0-9a-f]{64}", dockerfile), "sha256 sums live in packshot/models/catalog.py only"
    steps = _instructions(dockerfile)
    writes = [i for i, step in enumerate(steps) if "/opt/models" in step]
    committed = {f.file.filename for f in FAMILIES.values()
                 if isinstance(f.file.origin, Derived) and f.file.origin.committed}
    (copy,) = [step for step in steps if step.startswith("COPY models/")]
    assert set(copy.split()[1:-1]) == {f"models/{name}" for name in committed} and copy.endswith(" /opt/models/")
    assert all((REPO / "models" / name).is_file() for name in committed)
    fetched = [step for step in steps if "python -m packshot.models.fetch --dest /opt/models" in step]
    derived = [step for step in steps if "python -m packshot.models.derive --dest /opt/models" in step]
    assert len(fetched) == 1 and len(derived) == 1
    # The check runs after every step that writes a model file, so the image holds exactly the described bytes.
    assert steps[writes[-1]].endswith("python -m packshot.models.describe verify /opt/models")
    in_image = {f.name for f in FAMILIES.values() if f.file.in_image}
    assert in_image == {"u2netp", "u2netp-fast"} | {f.name for f in FAMILIES.values() if f.file.filename in committed}


@pytest.fixture
def image_folder(tmp_path: Path, model_file: Path) -> Path:
    """A folder as the image's /opt/models would be: every in-image file, by the catalog's names."""
    derive(model_file.parent)
    for fam in FAMILIES.values():
        if fam.file.in_image:
            (tmp_path / fam.file.filename).symlink_to(model_file.parent / fam.file.filename)
    return tmp_path


def test_the_image_s_check_passes_on_the_described_files(image_folder: Path) -> None:
    assert describe.main(["verify", str(image_folder)]) == 0


@pytest.mark.parametrize("name", ["u2netp-int8", "packshot-studio", "u2netp"])
def test_the_image_s_check_refuses_a_file_with_one_byte_changed_naming_it_and_both_sums(
    image_folder: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = FAMILIES[name].file
    path = image_folder / spec.filename
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.unlink()
    path.write_bytes(bytes(data))
    assert describe.main(["verify", str(image_folder)]) == 1
    error = capsys.readouterr().err
    assert str(path) in error and f"expected {spec.sha256}" in error and sha256_of(path) in error


def test_the_image_s_check_refuses_a_missing_file(image_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (image_folder / FAMILIES["packshot-studio"].file.filename).unlink()
    assert describe.main(["verify", str(image_folder)]) == 1
    assert "packshot-studio.onnx (packshot-studio) is missing" in capsys.readouterr().err


def test_the_image_pins_the_onnxruntime_the_int8_model_was_tested_with() -> None:
    from importlib.metadata import version

    requirements = (REPO / "functions" / "cutout" / "requirements.txt").read_text()
    pinned = re.findall(r"^onnxruntime==([0-9.]+)$", requirements, re.MULTILINE)
    # The int8 graph's float/int8 split depends on this version's fused kernels: the image must run what the
    # tests here (tests/unit/test_model_int8.py) ran.
    assert pinned == [version("onnxruntime")]
