"""ONNX segmentation model plug-ins (one file per family), their registry, and model-file fetching.

Each family's identity (file, sha256, source, input size, gate calibration) is in packshot.models.catalog. The
names below are imported on first use, so importing the light catalog (config does) does not load numpy, Pillow
and every plug-in.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from packshot.models.base import ModelOutput, SegmentationModel
    from packshot.models.catalog import DEFAULT_FAMILY, FAMILIES, Family
    from packshot.models.fetch import KNOWN_MODELS, fetch_model, verify_model_file
    from packshot.models.paths import default_model_dir, default_model_path
    from packshot.models.registry import MODELS, clear_model_cache, load_model

_WHERE = {
    "ModelOutput": "base",
    "SegmentationModel": "base",
    "DEFAULT_FAMILY": "catalog",
    "FAMILIES": "catalog",
    "Family": "catalog",
    "KNOWN_MODELS": "fetch",
    "fetch_model": "fetch",
    "verify_model_file": "fetch",
    "default_model_dir": "paths",
    "default_model_path": "paths",
    "MODELS": "registry",
    "clear_model_cache": "registry",
    "load_model": "registry",
}

__all__ = [
    "DEFAULT_FAMILY",
    "FAMILIES",
    "KNOWN_MODELS",
    "MODELS",
    "Family",
    "ModelOutput",
    "SegmentationModel",
    "clear_model_cache",
    "default_model_dir",
    "default_model_path",
    "fetch_model",
    "load_model",
    "verify_model_file",
]


def __getattr__(name: str) -> object:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
