"""ONNX segmentation model plug-ins (one file per family), their registry, and model-file fetching."""

from __future__ import annotations

from packshot.models.base import ModelOutput, SegmentationModel
from packshot.models.fetch import KNOWN_MODELS, ModelFile, fetch_model, verify_model_file
from packshot.models.paths import default_model_dir, default_model_path
from packshot.models.registry import MODELS, clear_model_cache, load_model

__all__ = [
    "KNOWN_MODELS",
    "MODELS",
    "ModelFile",
    "ModelOutput",
    "SegmentationModel",
    "clear_model_cache",
    "default_model_dir",
    "default_model_path",
    "fetch_model",
    "load_model",
    "verify_model_file",
]
