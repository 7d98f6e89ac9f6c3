"""The shape of a segmentation model plug-in: rembg's pre- and post-processing around one ONNX session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from PIL import Image

from packshot.errors import ModelError
from packshot.models.catalog import Family
from packshot.models.fetch import model_file_remedy, verify_model_file

if TYPE_CHECKING:
    import onnxruntime


@dataclass(frozen=True)
class ModelOutput:
    """A model's answer for one image, at the model's input size."""

    mask: np.ndarray  # min-max normalised, float32 in [0, 1], (input_size, input_size)
    # The range before min-max normalisation (after the sigmoid, for models that need one). Min-max turns
    # any output into a full 0..1 mask, even noise on an empty frame; a narrow raw range exposes that.
    raw_min: float
    raw_max: float

    @property
    def raw_range(self) -> float:
        """raw_max - raw_min: near 0 means the model saw nothing it would call a subject."""
        return self.raw_max - self.raw_min


class SegmentationModel:
    """Base of the model families; a family names its description and sets the statistics, rarely a step."""

    # Its identity (packshot.models.catalog); name, input_size and filename are read from it.
    family: ClassVar[Family]
    name: ClassVar[str]
    input_size: ClassVar[int]
    # The file this family loads by default, in the model directory.
    filename: ClassVar[str]
    mean: ClassVar[tuple[float, float, float]]
    std: ClassVar[tuple[float, float, float]]
    sigmoid_output: ClassVar[bool] = False
    # rembg resizes with LANCZOS; the same filter keeps our masks identical to rembg's for the same weights.
    resample: ClassVar[Image.Resampling] = Image.Resampling.LANCZOS
    # rembg-identical input (False) or a box reduction before the resize (True; the project's default model).
    fast_resize: ClassVar[bool] = False

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        if "family" in cls.__dict__:
            cls.name, cls.input_size, cls.filename = cls.family.name, cls.family.input_size, cls.family.file.filename

    def __init__(self, path: Path, *, threads: int = 1, expected_sha256: str | None = None) -> None:
        self.path = Path(path)
        if expected_sha256 is not None:
            verify_model_file(self.path, expected_sha256)
        elif not self.path.is_file():
            raise ModelError(
                f"model file {self.path} is missing: {model_file_remedy(self.path)}, "
                "or set MODEL_PATH to an existing file"
            )
        self._session = _create_session(self.path, threads)
        inputs = self._session.get_inputs()
        self._input_name: str = inputs[0].name
        self._output_name: str = self._session.get_outputs()[0].name
        self._check_input_shape(inputs[0].shape)

    def _check_input_shape(self, shape: list[Any]) -> None:
        # A file of another family (say isnet's 1024 input under the u2netp name) would fail deep inside
        # onnxruntime with a cryptic message; fixed spatial dimensions tell us up front.
        spatial = [d for d in shape[2:] if isinstance(d, int)]
        if any(d != self.input_size for d in spatial):
            raise ModelError(
                f"{self.path} expects input {shape}, but {type(self).__name__} feeds "
                f"{self.input_size}x{self.input_size}: the file belongs to another model family"
            )

    @classmethod
    def preprocess(cls, rgb: np.ndarray) -> np.ndarray:
        """RGB uint8 (H, W, 3) -> float32 NCHW (1, 3, S, S), exactly as rembg prepares it."""
        _check_rgb(rgb)
        size = (cls.input_size, cls.input_size)
        image = Image.fromarray(rgb, mode="RGB")
        # A box reduction to about twice the model size first: LANCZOS over 4 MP costs more than the model
        # saves, and at 2x oversampling the result is the same to a level or two.
        factor = min(rgb.shape[0], rgb.shape[1]) // (2 * cls.input_size)
        if factor > 1 and cls.fast_resize:
            image = image.reduce(factor)
        resized = np.asarray(image.resize(size, cls.resample))
        # rembg divides by the image's own maximum, not by 255; a dim photo therefore looks brighter to the
        # model. Computed in float64 and cast at the end, as rembg does, so the tensors match bit for bit.
        # Channel planes first: the same float64 operations per value as on (S, S, 3) pixels with the statistics
        # broadcast along the 3-long last axis, which costs ten times as much (4.4 ms against 0.4 at 224 px).
        scaled = resized.transpose(2, 0, 1) / max(float(resized.max()), 1e-6)
        tensor = np.empty((1, *scaled.shape), np.float32)
        for channel, (mean, std) in enumerate(zip(cls.mean, cls.std, strict=True)):
            tensor[0, channel] = (scaled[channel] - mean) / std
        return tensor

    @classmethod
    def postprocess(cls, raw: np.ndarray) -> ModelOutput:
        """Output 0 (N, C, S, S) -> channel 0 of the first image, sigmoid if needed, min-max normalised."""
        pred = np.asarray(raw, dtype=np.float64)[0, 0]
        if cls.sigmoid_output:
            pred = 1.0 / (1.0 + np.exp(-pred))
        low, high = float(pred.min()), float(pred.max())
        # A constant output has no range to stretch; an all-zero mask is the honest answer.
        mask = (pred - low) / (high - low) if high > low else np.zeros_like(pred)
        return ModelOutput(mask=mask.astype(np.float32), raw_min=low, raw_max=high)

    def predict(self, rgb: np.ndarray) -> ModelOutput:
        """Segment the salient object of an RGB uint8 image; the mask is at the model's input size."""
        tensor = self.preprocess(rgb)
        raw = self._session.run([self._output_name], {self._input_name: tensor})[0]
        return self.postprocess(raw)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"


def _check_rgb(rgb: np.ndarray) -> None:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 array (H, W, 3), got {rgb.dtype} {rgb.shape}")


def _create_session(path: Path, threads: int) -> onnxruntime.InferenceSession:
    # Imported here, not at module top: onnxruntime costs a few hundred ms to import, and code that only
    # preprocesses (tests, the CLI's --help) should not pay for it.
    import onnxruntime

    options = onnxruntime.SessionOptions()
    # onnxruntime sizes its pool from the host's cores, not from the Lambda's vCPU share: pin it.
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle workers sleep instead of spinning: on a shared 2-core host (and a Lambda's vCPU share) spinning
    # threads steal the cores the busy ones need; measured 0.30 -> 0.22 s for u2netp at 224 px under load.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return onnxruntime.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own untyped errors for unreadable graphs
        raise ModelError(
            f"{path} is not a model onnxruntime can load ({type(exc).__name__}: {str(exc)[:200]}); "
            "delete it and run `make setup` again"
        ) from exc
