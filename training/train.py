"""Train packshot-studio's head on the training set (training/data.py). CPU, seeded, resumable, time-bounded.

Run (in the training environment; `make train` does it): python -m training.train [--minutes 40]

The network is u2netp (rembg's weights, Apache-2.0, frozen) followed by a small studio head (training/u2netp.py)
that sees the photo, packshot.models.studio's two backdrop channels and u2netp's seven output maps, and corrects
u2netp's fused logit. Only the head is trained, so u2netp's outputs are computed once per sample with onnxruntime
(models/u2netp-dynamic.onnx, checked by sha256) and cached in build/train/; each step then takes random crops of
the cached maps (flipped half the time) and an Adam step on binary cross-entropy plus a soft IoU, weighted
towards the pixels u2netp is unsure of or wrong about. A checkpoint is written every few minutes and at the end;
running again resumes from it. Python, numpy and torch are seeded and the crop generator's state is in the
checkpoint, so on one machine and thread count a run repeats. A held-out tenth of the TRAINING samples (never the
evaluation part of the devset) reports a validation loss and IoU as the run goes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from PIL import Image

from packshot.models.derive import DERIVED_FILENAME, DERIVED_SHA256
from packshot.models.fetch import verify_model_file
from packshot.models.studio import PackshotStudio, studio_input
from training.u2netp import StudioHead, StudioNet, load_onnx_weights

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / "build" / "train" / "data"
DEFAULT_RUN = ROOT / "build" / "train" / "run"
SEED = 20251129
CROP = 64


def is_validation(name: str) -> bool:
    """One training sample in ten, by a digest of its name, is kept out of the head's training for monitoring."""
    return hashlib.sha256(name.encode()).digest()[0] % 10 == 0


def cache_features(data: Path, cache: Path, u2netp: Path, names: list[str] | None = None
                   ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(names, inputs (N, 12, S, S) float16: studio input then u2netp's 7 maps, truths (N, 1, S, S) float16).

    Each sample's maps are cached in cache/NAME.npz, so a grown training set only computes its new samples.
    """
    names = names if names is not None else json.loads((data / "index.json").read_text())
    size = PackshotStudio.input_size
    cache.mkdir(parents=True, exist_ok=True)
    session = None
    inputs = np.zeros((len(names), 12, size, size), np.float16)
    truths = np.zeros((len(names), 1, size, size), np.float16)
    for k, name in enumerate(names):
        stored = cache / f"{name}.npz"
        if stored.is_file():
            with np.load(stored) as saved:
                inputs[k], truths[k] = saved["x"], saved["y"]
            continue
        if session is None:
            import onnxruntime

            verify_model_file(u2netp, DERIVED_SHA256)
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1
            session = onnxruntime.InferenceSession(str(u2netp), options, providers=["CPUExecutionProvider"])
        with Image.open(data / f"{name}.png") as image:
            rgba = np.asarray(image.convert("RGBA"))
        studio = studio_input(PackshotStudio.resize_input(np.ascontiguousarray(rgba[..., :3])))
        maps = session.run(None, {session.get_inputs()[0].name: studio[:, :3]})
        inputs[k, :5] = studio[0]
        inputs[k, 5:] = np.concatenate([m[0] for m in maps])
        truth = Image.fromarray(rgba[..., 3]).resize((size, size), Image.Resampling.BILINEAR)
        truths[k, 0] = np.asarray(truth, np.float32) / 255.0
        np.savez(stored, x=inputs[k], y=truths[k])
        if k % 100 == 0:
            print(f"u2netp maps {k}/{len(names)}", flush=True)
    return names, inputs, truths


def crops(inputs: np.ndarray, truths: np.ndarray, picks: np.ndarray, rng: np.random.Generator,
          size: int) -> tuple[torch.Tensor, torch.Tensor]:
    full = inputs.shape[-1]
    xs, ys = [], []
    for i in picks:
        top, left = (int(v) for v in rng.integers(0, full - size + 1, 2))
        x = inputs[i, :, top : top + size, left : left + size]
        y = truths[i, :, top : top + size, left : left + size]
        if rng.random() < 0.5:
            x, y = x[..., ::-1], y[..., ::-1]
        xs.append(x)
        ys.append(y)
    return (torch.from_numpy(np.ascontiguousarray(np.stack(xs), np.float32)),
            torch.from_numpy(np.ascontiguousarray(np.stack(ys), np.float32)))


def loss_of(head: StudioHead, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    logit = head(x[:, :5], x[:, 5:])
    prior = x[:, 5:6]
    # Pixels where u2netp is unsure or wrong weigh twice as much: they are what the head is for.
    weight = 1.0 + ((prior > 0.05) & (prior < 0.95) | ((prior > 0.5) != (y > 0.5))).float()
    bce = (F.binary_cross_entropy_with_logits(logit, y, reduction="none") * weight).mean()
    prob = torch.sigmoid(logit)
    inter = (prob * y).sum(dim=(1, 2, 3))
    union = (prob + y - prob * y).sum(dim=(1, 2, 3))
    return bce + 0.5 * (1.0 - (inter + 1.0) / (union + 1.0)).mean(), logit


def train(args: argparse.Namespace) -> Path:
    torch.set_num_threads(args.threads)
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    run = args.run
    run.mkdir(parents=True, exist_ok=True)
    names, inputs, truths = cache_features(args.data, run.parent / "maps", Path(args.u2netp))
    val = np.array([is_validation(n) for n in names])
    train_idx, val_idx = np.flatnonzero(~val), np.flatnonzero(val)
    head = StudioNet().head
    optimiser = torch.optim.Adam(head.parameters(), lr=args.lr)
    checkpoint = run / "head.pt"
    state: dict = {"step": 0, "rng": None, "log": []}
    if checkpoint.is_file():
        saved = torch.load(checkpoint, weights_only=False)
        head.load_state_dict(saved["head"])
        optimiser.load_state_dict(saved["optimiser"])
        state = saved["state"]
        print(f"resumed at step {state['step']}")
    rng = np.random.default_rng(SEED)
    if state["rng"] is not None:
        rng.bit_generator.state = state["rng"]

    def save() -> None:
        state["rng"] = rng.bit_generator.state
        tmp = run / "head.pt.tmp"
        torch.save({"head": head.state_dict(), "optimiser": optimiser.state_dict(), "state": state}, tmp)
        tmp.replace(checkpoint)

    def validate() -> str:
        head.eval()
        with torch.no_grad():
            x = torch.from_numpy(inputs[val_idx].astype(np.float32))
            y = torch.from_numpy(truths[val_idx].astype(np.float32))
            loss, logit = loss_of(head, x, y)
            pred, prior, truth = logit > 0, x[:, 5:6] > 0.5, y > 0.5
            iou = ((pred & truth).sum((1, 2, 3)) / (pred | truth).sum((1, 2, 3)).clamp(min=1)).mean()
            base = ((prior & truth).sum((1, 2, 3)) / (prior | truth).sum((1, 2, 3)).clamp(min=1)).mean()
        head.train()
        return f"val loss {float(loss):.4f} IoU {float(iou):.4f} (u2netp {float(base):.4f})"

    print(f"{len(train_idx)} training, {len(val_idx)} validation samples; {validate()}", flush=True)
    started = time.monotonic()
    last_save = started
    running = None
    last_step = min(args.steps, args.until_step or args.steps)
    while state["step"] < last_step and time.monotonic() - started < args.minutes * 60:
        scale = 0.5 * (1 + np.cos(np.pi * state["step"] / args.steps))  # cosine decay over the planned steps
        for group in optimiser.param_groups:
            group["lr"] = args.lr * (0.05 + 0.95 * scale)
        x, y = crops(inputs, truths, rng.choice(train_idx, args.batch), rng, CROP)
        loss, _ = loss_of(head, x, y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        state["step"] += 1
        value = loss.item()
        running = value if running is None else 0.95 * running + 0.05 * value
        if state["step"] % 50 == 0:
            line = f"step {state['step']} loss {running:.4f} ({time.monotonic() - started:.0f} s)"
            if state["step"] % 200 == 0:
                line += "; " + validate()
            state["log"].append(line)
            print(line, flush=True)
        if time.monotonic() - last_save > 180:
            save()
            last_save = time.monotonic()
    save()
    print(f"stopped at step {state['step']}; {validate()}; checkpoint {checkpoint}", flush=True)
    return checkpoint


def load_net(checkpoint: Path, u2netp_onnx: Path) -> StudioNet:
    """The whole network for export: u2netp's weights from its ONNX file, the head from the checkpoint."""
    net = StudioNet()
    load_onnx_weights(net.u2netp, u2netp_onnx)
    net.head.load_state_dict(torch.load(checkpoint, weights_only=False)["head"])
    return net.eval()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--run", type=Path, default=DEFAULT_RUN)
    parser.add_argument("--u2netp", default=str(ROOT / "models" / DERIVED_FILENAME))
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--steps", type=int, default=400, help="the schedule's length (a resumed run continues it)")
    parser.add_argument("--minutes", type=float, default=15.0, help="stop after this long (run again to resume)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--until-step", type=int, default=0,
                        help="stop at this step of the schedule (the committed head: 233), whatever the time budget")
    parser.add_argument("--maps-only", default="", metavar="K/N",
                        help="only compute u2netp's maps, for the K-th of N shards of the index (run N at once)")
    args = parser.parse_args(argv)
    if args.maps_only:
        shard, count = (int(v) for v in args.maps_only.split("/"))
        names = json.loads((args.data / "index.json").read_text())[shard::count]
        cache_features(args.data, args.run.parent / "maps", Path(args.u2netp), names)
        return
    train(args)


if __name__ == "__main__":
    main()
