"""Build models/u2netp-int8.onnx, a static int8 u2netp for 224 px, from the repo: `python tools/quantize_u2netp.py`.

Build time only (needs the `onnx` package, eval/ and examples/ from the checkout); the Lambda just loads the file,
which is committed and pinned by sha256 in packshot.models.catalog. The recipe, step by step:

- Source: models/u2netp-dynamic.onnx (u2netp with a symbolic input size, packshot.models.derive), converted to
  opset 13, which per-channel quantization of Conv weights needs, then onnxruntime's quant_pre_process (shape
  inference and graph clean-up before quantization).
- Calibration: 90 tensors, each exactly as U2NetPFast.preprocess makes it: 48 rendered scenes
  (eval.make_dataset.render_scene 20000..20047, far from the indices `make eval` scores) and every readable
  examples/*.jpg three times - as is, mirrored and turned 90 degrees, and cropped - so the ranges cover products
  that fill the frame, sit off-centre and face either way.
- quantize_static: QDQ, per-channel int8 weights (QInt8), uint8 activations (QUInt8), reduced range (7-bit
  weights), MinMax ranges, every op type, with these nodes left in float:
  - reduced range: on x86 CPUs without VNNI (AVX2 only, as many Lambda and CI hosts are) onnxruntime multiplies
    u8 by s8 with vpmaddubsw, whose int16 pair sums saturate at full 8-bit range; the red sneaker's mask then
    agreed with the float model's at IoU 0.94. With 7-bit weights no pair sum can overflow (0.995).
  - Conv_787: one input channel reaches ~228 and meets weights of ~5.6, which cancel a folded batch-norm bias of
    ~921. Per-channel int8 gives the whole output channel's scale to that one large weight product, and the other
    31 input channels' contributions round to nothing.
  - Add_789: the residual add right after Conv_787. onnxruntime fuses a quantized Conv with the Add that follows
    it, and that fused int8 kernel gets the sum wrong when the Conv before it is float; excluding the Add too
    keeps the pair in float.
  - The output heads (Conv_945, Conv_946, Conv_966, Conv_986, Conv_1006, Conv_1026, Conv_1047, Concat_1046,
    Resize_965..Resize_1045, Sigmoid_1048..Sigmoid_1054): in float the output stays continuous, so a frame with
    nothing on it gives a low raw range of thousands of levels, like the float model's. Quantized, the output
    moves in uint8 steps: an empty frame gave two levels one step apart, which min-max normalisation stretches
    into a hard 0/1 phantom product.

Every step is deterministic (fixed render indices, sorted example names, MinMax has no sampling), so with the
pinned onnx (pyproject.toml's dev extra) and onnxruntime the output is the same bytes each run; the script says
when it is not the pinned file.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "layers" / "packshot")]

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from packshot.atomic import write_atomically  # noqa: E402
from packshot.models.catalog import FAMILIES  # noqa: E402
from packshot.models.derive import DERIVED_FILENAME, derive  # noqa: E402
from packshot.models.u2net import U2NetPFast  # noqa: E402

INT8 = FAMILIES["u2netp-int8"].file  # the file this script writes and the sha256 it must come out with

OPSET = 13
RENDER_INDICES = range(20000, 20048)
UNREADABLE_EXAMPLES = {"broken.jpg"}  # deliberately not an image (the pipeline's rejection example)
FLOAT_NODES = (
    ["Conv_787", "Add_789"]
    + ["Conv_945", "Conv_946", "Conv_966", "Conv_986", "Conv_1006", "Conv_1026", "Conv_1047", "Concat_1046"]
    + ["Resize_965", "Resize_985", "Resize_1005", "Resize_1025", "Resize_1045"]
    + [f"Sigmoid_{i}" for i in range(1048, 1055)]
)


def _tensor(image: Image.Image) -> np.ndarray:
    return U2NetPFast.preprocess(np.asarray(image.convert("RGB")))


def calibration_tensors(repo: Path = REPO) -> np.ndarray:
    """The (90, 3, 224, 224) float32 inputs whose activation ranges set the int8 scales."""
    from eval.make_dataset import render_scene

    tensors = [_tensor(Image.open(io.BytesIO(render_scene(index)[0]))) for index in RENDER_INDICES]
    for path in sorted((repo / "examples").glob("*.jpg")):
        if path.name in UNREADABLE_EXAMPLES:
            continue
        image = Image.open(path).convert("RGB")
        w, h = image.size
        tensors.append(_tensor(image))
        tensors.append(_tensor(image.transpose(Image.Transpose.FLIP_LEFT_RIGHT).rotate(90, expand=True)))
        tensors.append(_tensor(image.crop((w // 8, h // 6, w - w // 5, h - h // 10))))
    return np.concatenate(tensors)


def quantize(source: Path, target: Path, calibration: np.ndarray) -> str:
    """Write the int8 model for `source` (u2netp-dynamic.onnx) to `target`; returns its sha256."""
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self, name: str) -> None:
            self._feeds: Iterator[dict[str, np.ndarray]] = iter([{name: t[np.newaxis]} for t in calibration])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._feeds, None)

    with tempfile.TemporaryDirectory(prefix="quantize_u2netp.") as work:
        opset13, prepared, quantized = (Path(work) / n for n in ("opset13.onnx", "pre.onnx", "int8.onnx"))
        onnx.save(version_converter.convert_version(onnx.load(str(source)), OPSET), str(opset13))
        quant_pre_process(str(opset13), str(prepared))
        graph = onnx.load(str(prepared)).graph
        missing = set(FLOAT_NODES) - {node.name for node in graph.node}
        if missing:
            raise SystemExit(f"error: {source} has no nodes {sorted(missing)}: the recipe was written for "
                             f"{DERIVED_FILENAME} as packshot.models.derive makes it")
        quantize_static(
            str(prepared), str(quantized), Reader(graph.input[0].name),
            quant_format=QuantFormat.QDQ, per_channel=True, reduce_range=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            nodes_to_exclude=sorted(FLOAT_NODES), calibrate_method=CalibrationMethod.MinMax,
        )
        data = quantized.read_bytes()
    write_atomically(data, target)
    return hashlib.sha256(data).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/quantize_u2netp.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "models" / INT8.filename, help="default: %(default)s")
    args = parser.parse_args(argv)
    source = derive(REPO / "models")  # verified against its pinned sha256 (derived from u2netp.onnx if missing)
    digest = quantize(source, args.out, calibration_tensors())
    print(f"{digest}  {args.out}")
    if digest != INT8.sha256:
        print(f"note: this is not the pinned {INT8.filename} (sha256 {INT8.sha256}); check the onnx and "
              "onnxruntime versions, or update u2netp-int8's sha256 in packshot/models/catalog.py if the recipe "
              "changed on purpose", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
