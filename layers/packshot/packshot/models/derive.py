"""Build the fast default model from u2netp by a checked, deterministic edit: `python -m packshot.models.derive`.

u2netp's graph declares a fixed 320x320 input although every layer works at any size (its upsampling
reads sizes from the tensors). Declaring the spatial dimensions symbolic lets us run it at 224 px, which
costs about half of 320's compute. The weights are not touched. The source file's sha256 is checked before
and the result's sha256 after, so the file in models/ and the one in the container image are the same bytes.
Needs the `onnx` package (build time only; the Lambda does not import this module).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from packshot.atomic import write_atomically
from packshot.errors import ModelError
from packshot.models.catalog import FAMILIES, Derived, ModelFile
from packshot.models.fetch import sha256_of, verify_model_file
from packshot.models.paths import default_model_dir

# The family this module makes, its file and checksum (onnx 1.23 serialises deterministically; the check catches
# drift), and the family it is made from: all from the catalog.
DERIVED = FAMILIES["u2netp-fast"].file


def _source_of(spec: ModelFile) -> ModelFile:
    if not isinstance(spec.origin, Derived):
        raise TypeError(f"{spec.filename} is not derived in this repository")
    return FAMILIES[spec.origin.source].file


SOURCE = _source_of(DERIVED)
DERIVED_FILENAME = DERIVED.filename
DERIVED_SHA256 = DERIVED.pinned_sha256


def make_dynamic(source: Path, target: Path) -> Path:
    """Write `source`'s graph with symbolic height and width (same weights, same ops) to `target`."""
    import onnx

    verify_model_file(source, SOURCE.pinned_sha256, expected_size=SOURCE.size)
    graph = onnx.load(str(source))
    for value in list(graph.graph.input) + list(graph.graph.output):
        dims = value.type.tensor_type.shape.dim
        for dim, name in zip(dims[2:], ("height", "width"), strict=True):
            dim.ClearField("dim_value")
            dim.dim_param = name
    # Inferred intermediate shapes would still say 320; onnxruntime infers them again on load.
    del graph.graph.value_info[:]
    write_atomically(graph.SerializeToString(deterministic=True), target)
    actual = sha256_of(target)
    if actual != DERIVED_SHA256:
        raise ModelError(
            f"{target} came out with sha256 {actual}, expected {DERIVED_SHA256}: the onnx version "
            "serialises differently; pin onnx as pyproject.toml's `model` extra does"
        )
    return target


def derive(dest: Path | None = None) -> Path:
    """Make sure DEST holds the derived file, verified; derives it from DEST's u2netp file if not."""
    folder = Path(dest if dest is not None else default_model_dir())
    target = folder / DERIVED_FILENAME
    if target.is_file() and sha256_of(target) == DERIVED_SHA256:
        return target
    return make_dynamic(folder / SOURCE.filename, target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m packshot.models.derive", description=__doc__)
    parser.add_argument("--dest", type=Path, default=None, help="model directory (default: <repo>/models)")
    args = parser.parse_args(argv)
    try:
        print(derive(args.dest))
    except ModelError as exc:
        print(f"error: {exc.reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
