"""Build the training set: studio scenes of the devset's FITTING objects, rendered scenes, procedural shapes.

Run: python -m training.data [--out build/train/data] [--per-object 2] [--rendered 20] [--procedural 40]

Every sample is what the cutout stage hands its model: a photo (JPEG, as a studio sends it) at about the stage's
working size (packshot.cutout.WORK_SIDE), stored as an RGBA PNG whose alpha is the true mask at that size. The
studio scenes are composed at that size directly (the product scaled to SCENE_PRODUCT_SIDE first): a CPU makes
them ten times faster than at a camera's size, and the model only ever sees the working copy. Their noise and
JPEG are therefore a little stronger than in a reduced camera frame, which does the model no harm.
Sources, and what keeps the evaluation honest:
- the devset's objects whose split is "fit" (eval.studio.split), never its "eval" objects; the same for every
  extra real-cutout set given with --extra-devset (split within that set by the same rule);
- eval.make_dataset's renderer at scene numbers from RENDERED_FIRST on, never the 0..119 that eval/run.py scores;
- training.shapes' procedural benches, racks, nets, trampolines, ladders, chairs, lamps, rings, baskets, stools.
Everything is seeded; nothing here is committed (the devset's licences allow training, not redistribution).
"""

from __future__ import annotations

import argparse
import io
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from eval import make_dataset, studio
from packshot.cutout import WORK_SIDE
from training import shapes

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "build" / "train" / "data"
# eval/run.py scores rendered scenes 0..119; training starts far above them.
RENDERED_FIRST = 100_000
# The product's long side in a composed scene; eval.studio frames it at 55-85% of the frame's long side.
SCENE_PRODUCT_SIDE = 280
# Fitting objects get scene numbers from here, so their scenes never repeat the ones eval.studio makes (0..3).
STUDIO_FIRST = 1_000


def working_copy(photo: bytes, truth: np.ndarray) -> np.ndarray:
    """RGBA uint8 at the cutout stage's working size: decoded photo reduced like cut_out does, truth alongside."""
    with Image.open(io.BytesIO(photo)) as image:
        rgb = np.asarray(image.convert("RGB"))
    side = max(rgb.shape[:2])
    factor = max(1, -(-side // WORK_SIDE))
    small = np.asarray(Image.fromarray(rgb).reduce(factor)) if factor > 1 else rgb
    mask = Image.fromarray(truth).resize((small.shape[1], small.shape[0]), Image.Resampling.BOX)
    return np.dstack([small, np.asarray(mask)])


def compose(rgba: np.ndarray, obj: studio.RealObject, index: int) -> np.ndarray:
    """eval.studio's scene for the product, composed at the working size (see the module's docstring)."""
    scale = SCENE_PRODUCT_SIDE / max(rgba.shape[:2])
    size = (max(1, round(rgba.shape[1] * scale)), max(1, round(rgba.shape[0] * scale)))
    small = studio._resize_premultiplied(rgba, size)
    studio.MIN_LONG_SIDE = 0  # this worker's copy of the module: scenes stay at the working size
    photo, truth, _ = studio.render_studio_scene(small, obj, index, "fit")
    with Image.open(io.BytesIO(photo)) as image:
        rgb = image.convert("RGB")
    fit = WORK_SIDE / max(rgb.size)
    if fit < 1.0:  # a frame a little over the working size: scaled to it (a camera frame is reduced to it too)
        size = (max(1, round(rgb.size[0] * fit)), max(1, round(rgb.size[1] * fit)))
        rgb = rgb.resize(size, Image.Resampling.BOX)
    mask = Image.fromarray(truth).resize(rgb.size, Image.Resampling.BOX)
    return np.dstack([np.asarray(rgb), np.asarray(mask)])


def _studio_sample(job: tuple[str, str, int]) -> tuple[str, np.ndarray]:
    root, name, index = job
    objects = {o.name: o for o in studio.load_objects(Path(root))}
    with Image.open(Path(root) / "objects" / f"{name}.png") as image:
        rgba = np.asarray(image.convert("RGBA"))
    return _name_of(("fit", job)), compose(rgba, objects[name], index)


def _rendered_sample(index: int) -> tuple[str, np.ndarray]:
    photo, mask, _ = make_dataset.render_scene(index)
    return f"rendered__{index}", working_copy(photo, np.asarray(mask.convert("L")))


def _procedural_sample(index: int) -> tuple[str, np.ndarray]:
    rng = np.random.default_rng(7_000_000 + index)
    kind = shapes.KINDS[index % len(shapes.KINDS)]
    rgba, light = shapes.draw_product(kind, rng)
    obj = studio.RealObject(name=f"{kind}-{index}", category=f"procedural/{kind}", light_product=light,
                            thin_or_holes=True, source="procedural")
    return f"shape__{kind}__{index}", compose(rgba, obj, int(rng.integers(0, 8)))


def _run(job: tuple[str, object]) -> tuple[str, np.ndarray]:
    kind, arg = job
    if kind == "fit":
        return _studio_sample(arg)  # type: ignore[arg-type]
    if kind == "rendered":
        return _rendered_sample(int(arg))  # type: ignore[call-overload]
    return _procedural_sample(int(arg))  # type: ignore[call-overload]


def fitting_objects(root: Path | None = None) -> list[str]:
    """A devset's objects training may see: split() == 'fit' within that set. Raises if none (no devset)."""
    root = root or studio.devset_dir()
    objects = studio.load_objects(root)
    parts = studio.split(objects)
    names = sorted(o.name for o in objects if parts[o.name] == "fit")
    if not names:
        raise SystemExit(f"no devset objects found in {root} (set PACKSHOT_DEVSET)")
    return names


def build(out: Path, per_object: int, rendered: int, procedural: int, workers: int,
          extra: list[Path] | None = None) -> int:
    out.mkdir(parents=True, exist_ok=True)
    jobs: list[tuple[str, object]] = []
    for root in [studio.devset_dir(), *(extra or [])]:
        names = fitting_objects(root)
        jobs += [("fit", (str(root), name, STUDIO_FIRST + k)) for name in names for k in range(per_object)]
    jobs += [("rendered", RENDERED_FIRST + k) for k in range(rendered)]
    jobs += [("procedural", k) for k in range(procedural)]
    todo = [j for j in jobs if not (out / f"{_name_of(j)}.png").is_file()]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for name, rgba in pool.map(_run, todo, chunksize=4):
            Image.fromarray(rgba, mode="RGBA").save(out / f"{name}.png", compress_level=1)
    (out / "index.json").write_text(json.dumps(sorted(_name_of(j) for j in jobs), indent=0))
    return len(jobs)


def _name_of(job: tuple[str, object]) -> str:
    kind, arg = job
    if kind == "fit":
        root, name, index = arg  # type: ignore[misc]
        # The main devset's samples keep the short name; an extra set's carry its folder's name.
        tag = "" if Path(root) == studio.devset_dir() else f"{Path(root).name}__"
        return f"fit__{tag}{name}__{index}"
    if kind == "rendered":
        return f"rendered__{arg}"
    index = int(arg)  # type: ignore[call-overload]
    return f"shape__{shapes.KINDS[index % len(shapes.KINDS)]}__{index}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--per-object", type=int, default=2)
    parser.add_argument("--rendered", type=int, default=20)
    parser.add_argument("--procedural", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--extra-devset", type=Path, action="append", default=[],
                        help="another real-cutout set in the devset's format; its 'fit' part is used (repeatable)")
    args = parser.parse_args(argv)
    count = build(args.out, args.per_object, args.rendered, args.procedural, args.workers, args.extra_devset)
    print(f"{count} samples in {args.out}")


if __name__ == "__main__":
    main()
