"""Export a packshot-studio checkpoint to ONNX and check it: python -m training.export [--checkpoint ...]

The graph (u2netp, then the trained studio head) takes (1, 5, H, W) float32 (RGB as rembg prepares it, then
packshot.models.studio's two channels) and returns the mask in 0..1, (1, 1, H, W); height and width are symbolic
like u2netp-fast's. The file is checked against the torch network on seeded inputs (at most 1e-3 apart)
and its sha256 printed: that sum goes into packshot/models/catalog.py (packshot-studio's sha256), from which the
loader and the cutout image's build check the file.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
import torch

from packshot.models.derive import DERIVED_FILENAME
from packshot.models.studio import STUDIO_CHANNELS, PackshotStudio
from training.train import load_net

ROOT = Path(__file__).resolve().parents[1]


def export(checkpoint: Path, u2netp: Path, target: Path) -> str:
    model = load_net(checkpoint, u2netp)
    example = torch.zeros(1, STUDIO_CHANNELS, PackshotStudio.input_size, PackshotStudio.input_size)
    tmp = target.with_suffix(".tmp")
    torch.onnx.export(model, (example,), str(tmp), input_names=["input"], output_names=["mask"], opset_version=17,
                      dynamic_axes={"input": {2: "height", 3: "width"}, "mask": {2: "height", 3: "width"}},
                      dynamo=False)
    import onnxruntime

    session = onnxruntime.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    for size in (PackshotStudio.input_size, 256):
        x = rng.normal(size=(1, STUDIO_CHANNELS, size, size)).astype(np.float32)
        with torch.no_grad():
            want = model(torch.from_numpy(x)).numpy()
        got = session.run(None, {"input": x})[0]
        if float(np.abs(want - got).max()) > 1e-3:
            raise SystemExit(f"ONNX and torch differ by {np.abs(want - got).max()} at {size} px")
    tmp.replace(target)
    return hashlib.sha256(target.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "build" / "train" / "run" / "head.pt")
    parser.add_argument("--u2netp", type=Path, default=ROOT / "models" / DERIVED_FILENAME)
    parser.add_argument("--out", type=Path, default=ROOT / "models" / PackshotStudio.filename)
    args = parser.parse_args(argv)
    digest = export(args.checkpoint, args.u2netp, args.out)
    print(f"{args.out} {args.out.stat().st_size} bytes sha256 {digest}")
    if digest != PackshotStudio.family.file.sha256:
        print(f"note: not the pinned {PackshotStudio.filename}; if this head is meant to replace it, put the sum above "
              "into packshot/models/catalog.py")


if __name__ == "__main__":
    main()
