"""Model families by name, and a per-process cache so each model file gets one onnxruntime session."""

from __future__ import annotations

import threading
from pathlib import Path

from packshot.errors import ModelError
from packshot.models.base import SegmentationModel
from packshot.models.birefnet import BiRefNetGeneralLite
from packshot.models.catalog import FAMILIES
from packshot.models.isnet import IsNetGeneralUse
from packshot.models.location import known_sha256
from packshot.models.studio import PackshotStudio
from packshot.models.u2net import Silueta, U2Net, U2NetP, U2NetPFast, U2NetPInt8

MODELS: dict[str, type[SegmentationModel]] = {
    cls.name: cls
    for cls in (PackshotStudio, U2NetPFast, U2NetPInt8, U2NetP, U2Net, Silueta, IsNetGeneralUse, BiRefNetGeneralLite)
}
if set(MODELS) != set(FAMILIES):  # a family described without a plug-in, or a plug-in without a description
    raise RuntimeError(f"model plug-ins {sorted(MODELS)} and catalog families {sorted(FAMILIES)} differ")

_cache: dict[tuple[str, Path, int], SegmentationModel] = {}
_lock = threading.Lock()


def load_model(name: str, path: str | Path, *, threads: int = 1) -> SegmentationModel:
    """The model `name` from the local file `path`, created once per process and reused after.

    The file is checked against its sha256 when its name is a known model file's (location.known_sha256: every
    file the catalog pins, fetched or made in this repository). The cache key
    includes `threads` because a session's thread pool is fixed when it is created.
    """
    try:
        cls = MODELS[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}; available: {', '.join(sorted(MODELS))}") from None
    if str(path).startswith("s3://"):
        # Kept pure: no boto3 here. The adapter downloads, verifies and caches the file, then calls us.
        raise ModelError(
            f"model path {path} is on S3 and load_model reads local files only: resolve it first with "
            "packshot.adapters.model_files.resolve_model_file (the cutout handler does) and pass the local path"
        )
    resolved = Path(path).expanduser().resolve()
    _check_precision(cls, resolved)
    key = (name, resolved, threads)
    # The lock makes two threads asking at once share one session instead of building two.
    with _lock:
        model = _cache.get(key)
        if model is None:
            model = cls(resolved, threads=threads, expected_sha256=known_sha256(resolved.name))
            _cache[key] = model
        return model


def _check_precision(cls: type[SegmentationModel], path: Path) -> None:
    """Refuse the float u2netp files as u2netp-int8 and the int8 file as any other family.

    Both are u2netp with the same interface, so either would load and run; the wrong one would be measured and
    reported under the other's name (a MODEL_PATH left over from another MODEL_NAME is how that happens).
    """
    float_files = {U2NetPFast.filename, U2NetP.filename}
    if cls is U2NetPInt8 and path.name in float_files:
        raise ModelError(f"model {cls.name} was given {path}, the float u2netp: set MODEL_PATH to the int8 file "
                         f"({U2NetPInt8.filename}) or choose MODEL_NAME {U2NetPFast.name} for this file")
    if cls is not U2NetPInt8 and path.name == U2NetPInt8.filename:
        raise ModelError(f"model {cls.name} was given {path}, the int8 u2netp: set MODEL_NAME to {U2NetPInt8.name} "
                         f"or MODEL_PATH to {cls.filename}")


def default_path_for(name: str) -> Path:
    """Where the model `name` is found when no path is configured (see paths.default_model_path)."""
    from packshot.models.paths import default_model_path

    cls = MODELS.get(name)
    return default_model_path(cls.filename) if cls is not None else default_model_path()


def clear_model_cache() -> None:
    """Forget every loaded session (tests; a long-lived process that swaps model files)."""
    with _lock:
        _cache.clear()
