"""The cutout container image installs only functions/cutout/requirements.txt: its handler must need no more.

The image cannot be built here (no Docker), so this checks what the image would lack: it runs the cutout
handler's stage in a fresh interpreter and lists the third-party modules it imported, and it reads the Dockerfile
for the model files it copies and the sums it checks them against.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from packshot.models.quantized import INT8_FILENAME, INT8_SHA256
from packshot.models.registry import MODELS
from packshot.models.studio import STUDIO_FILENAME, STUDIO_SHA256
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
from packshot.imaging.decode import decode_png_rgba, encode_png
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


@pytest.mark.parametrize(("family", "filename", "arg", "sha256"), [
    ("u2netp-int8", INT8_FILENAME, "INT8_SHA256", INT8_SHA256),
    ("packshot-studio", STUDIO_FILENAME, "STUDIO_SHA256", STUDIO_SHA256),
])
def test_the_image_copies_each_committed_model_and_checks_it_against_the_pinned_sha256(
    family: str, filename: str, arg: str, sha256: str
) -> None:
    dockerfile = (REPO / "functions" / "cutout" / "Dockerfile").read_text()
    target = f"/opt/models/{filename}"
    assert MODELS[family].filename == filename and (REPO / "models" / filename).is_file()
    assert re.search(rf"^COPY models/{re.escape(filename)} {re.escape(target)}$", dockerfile, re.MULTILINE)
    pinned = re.findall(rf"^ARG {arg}=([0-9a-f]{{64}})$", dockerfile, re.MULTILINE)
    assert pinned == [sha256], "the Dockerfile's sum must be the one load_model checks"
    # The check runs after the copy, on the copied file, so the image cannot hold anything else under that name.
    check = f'echo "${{{arg}}}  {target}" | sha256sum -c -'
    assert dockerfile.index(check) > dockerfile.index(f"COPY models/{filename}")


def test_the_image_pins_the_onnxruntime_the_int8_model_was_tested_with() -> None:
    from importlib.metadata import version

    requirements = (REPO / "functions" / "cutout" / "requirements.txt").read_text()
    pinned = re.findall(r"^onnxruntime==([0-9.]+)$", requirements, re.MULTILINE)
    # The int8 graph's float/int8 split depends on this version's fused kernels: the image must run what the
    # tests here (tests/unit/test_model_int8.py) ran.
    assert pinned == [version("onnxruntime")]
