"""Studio scenes from real cutouts: real products with the alpha a person cut, shot the way studios shoot.

Run: python -m eval.studio [--part eval|fit] [--out build/eval/real] [--per-object 4]

The objects are a devset (objects/NAME.png with a true alpha, and an index.csv that says what each one is):
`../shared/devset` beside the repository (eval/shared.py says how to point elsewhere). Each object is placed on a studio
backdrop (white, off-white, grey, pastel colours, graded sweeps), with a contact shadow and often a softer cast
shadow (darker backdrop, never part of the truth), sensor noise and JPEG, at a size a studio sends (the product
fills 55-85% of the frame's long side). The truth is the object's own alpha, placed where the object went.

The split is by object and fixed: within each hard-case stratum (thin parts or holes, light product) the objects
are ordered by a digest of their name and two in five go to the evaluation part, so each hard case is held out
in proportion. Every number the project reports for the cutout or the gate is on the evaluation part;
thresholds are fitted, and models trained, on the fitting part only.
Nothing here is committed: the devset's licences allow evaluation and training, not redistribution.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from eval.shared import devset_dir

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "build" / "eval" / "real"
# Two objects in five are held out for evaluation. The salt names the split's version: changing it would move
# objects between the parts, and every fitted threshold and trained model would have to be made again.
SPLIT_SALT = "packshot-split-v1"
EVAL_RANKS, EVAL_PERIOD = (0, 2), 5
# Scenes per object: the backdrops rotate through BACKDROPS so each object is seen on several of them.
PER_OBJECT = 4
# The product's longest side as a share of the frame's: what a studio frames (crop_to_fill then makes it 85%).
FILL_RANGE = (0.55, 0.85)
# Frames under this long side are scaled up first (the pipeline rejects photos under 1000 px).
MIN_LONG_SIDE = 1100


@dataclass(frozen=True)
class RealObject:
    """One devset row: the object's name, what it is, and the flags the hard cases are counted by."""

    name: str
    category: str
    light_product: bool
    thin_or_holes: bool
    source: str

    @property
    def stratum(self) -> tuple[bool, bool]:
        return (self.thin_or_holes, self.light_product)


@dataclass(frozen=True)
class StudioScene:
    """What one rendered scene shows, so results can be broken down by hard case."""

    name: str
    object: str
    category: str
    part: str
    backdrop: str
    light_product: bool
    thin_or_holes: bool
    shadow: str
    width: int
    height: int
    jpeg_quality: int


def split(objects: list[RealObject]) -> dict[str, str]:
    """Object name -> 'eval' or 'fit': two in five of each stratum, in the order of a digest of their names."""
    parts: dict[str, str] = {}
    for stratum in sorted({o.stratum for o in objects}):
        members = sorted((o for o in objects if o.stratum == stratum), key=lambda o: _digest(o.name))
        for rank, obj in enumerate(members):
            parts[obj.name] = "eval" if rank % EVAL_PERIOD in EVAL_RANKS else "fit"
    return parts


def _digest(name: str) -> bytes:
    return hashlib.sha256(f"{SPLIT_SALT}/{name}".encode()).digest()


def load_objects(devset: Path | None = None) -> list[RealObject]:
    """The devset's objects, from its index.csv (name, category, light_product, thin_or_holes, source_repo)."""
    root = devset or devset_dir()
    with open(root / "index.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        RealObject(
            name=row["name"],
            category=row["category"],
            light_product=row["light_product"].strip().lower() == "yes",
            thin_or_holes=row["thin_or_holes"].strip().lower() == "yes",
            source=row.get("source_repo", ""),
        )
        for row in rows
        if (root / "objects" / f"{row['name']}.png").is_file()
    ]


# Backdrops as studios use them: (label, base colour or None for "pick per scene", falloff, sweep).
# White and off-white come first in the rotation because most packshots are shot on them, and light products
# are always given them (white on white is the case that costs most when it goes wrong).
BACKDROPS = ("white", "off-white", "grey", "pastel", "white", "sweep", "off-white", "dark-grey")


def _backdrop_colour(label: str, rng: np.random.Generator) -> tuple[np.ndarray, float, float]:
    """(RGB base colour, falloff towards the corners, vertical sweep strength) for a backdrop label."""
    if label == "white":
        level = rng.uniform(247, 255)
        return np.array([level, level, level]) + rng.uniform(-1.5, 1.5, 3), float(rng.uniform(0.0, 0.03)), 0.0
    if label == "off-white":
        base = rng.uniform(228, 246)
        warm = rng.uniform(-1, 1)
        return (np.array([base, base - 3 * warm - 1, base - 8 * warm - 2]) + rng.uniform(-1, 1, 3),
                float(rng.uniform(0.02, 0.05)), float(rng.uniform(0.0, 0.04)))
    if label == "grey":
        g = rng.uniform(175, 225)
        return np.array([g, g, g + rng.uniform(-4, 4)]), float(rng.uniform(0.02, 0.06)), 0.0
    if label == "dark-grey":
        g = rng.uniform(90, 150)
        return np.array([g, g, g + rng.uniform(-3, 3)]), float(rng.uniform(0.03, 0.08)), 0.0
    if label == "pastel":
        hue = rng.random()
        sat = rng.uniform(0.12, 0.35)
        val = rng.uniform(200, 245)
        rgb = np.array([0.5 + 0.5 * np.cos(2 * np.pi * (hue + k / 3)) for k in range(3)]) * sat + (1 - sat)
        return rgb * val, float(rng.uniform(0.02, 0.05)), float(rng.uniform(0.0, 0.06))
    # "sweep": a lit paper sweep, brighter in the middle and falling off towards the top and the corners.
    base = rng.uniform(215, 252)
    tint = rng.uniform(-3, 3, 3)
    return np.array([base, base, base]) + tint, float(rng.uniform(0.06, 0.12)), float(rng.uniform(0.08, 0.2))


def _backdrop_image(width: int, height: int, colour: np.ndarray, falloff: float, sweep: float) -> np.ndarray:
    """The lit backdrop: the colour, darker towards the corners (falloff) and towards the top (sweep)."""
    u = (np.arange(width, dtype=np.float32) + 0.5) / width - 0.5
    v = (np.arange(height, dtype=np.float32) + 0.5) / height - 0.5
    radial = 1.0 - falloff * (u[None, :] ** 2 + v[:, None] ** 2) * 2.0
    vertical = 1.0 - sweep * np.clip(-v[:, None] * 2.0, 0.0, 1.0) ** 1.5
    light = (radial * vertical).astype(np.float32)
    return np.clip(light[..., None] * colour.astype(np.float32)[None, None, :], 0, 255)


def _blur(image: np.ndarray, radius: float) -> np.ndarray:
    """A Gaussian blur of a 0..1 float map through Pillow (a shadow needs nothing finer)."""
    as_image = Image.fromarray(np.clip(image * 255.0, 0, 255).astype(np.uint8))
    return np.asarray(as_image.filter(ImageFilter.GaussianBlur(float(radius))), dtype=np.float32) / 255.0


def _shadows(alpha: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """How much light each backdrop pixel loses (0..1) to the product's contact and cast shadows."""
    height, width = alpha.shape
    solid = alpha > 0.5
    rows = np.flatnonzero(solid.any(axis=1))
    cols = np.flatnonzero(solid.any(axis=0))
    if len(rows) == 0:
        return np.zeros_like(alpha), "none"
    top, bottom, left, right = rows[0], rows[-1], cols[0], cols[-1]
    obj_w, obj_h = right - left + 1, bottom - top + 1
    shade = np.zeros((height, width), np.float32)
    kinds = []
    # Contact shadow: a flat dark ellipse where the product stands, under its lowest pixels.
    base_cols = np.flatnonzero(solid[max(top, bottom - max(2, obj_h // 40)) : bottom + 1].any(axis=0))
    if len(base_cols):
        cx = 0.5 * (base_cols[0] + base_cols[-1])
        half = 0.55 * (base_cols[-1] - base_cols[0] + 1) + 0.02 * obj_w
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        ellipse = ((xx - cx) / max(half, 2.0)) ** 2 + ((yy - bottom) / max(0.035 * obj_h, 3.0)) ** 2 <= 1.0
        strength = float(rng.uniform(0.15, 0.5))
        shade = np.maximum(shade, strength * _blur(ellipse.astype(np.float32), max(2.0, 0.02 * obj_h)))
        kinds.append("contact")
    if rng.random() < 0.6:
        # A cast shadow from a key light to one side: the silhouette sheared along the floor, very soft.
        shift_x = int(rng.uniform(-0.15, 0.15) * obj_w)
        squash = rng.uniform(0.15, 0.35)
        silhouette = Image.fromarray((solid * 255).astype(np.uint8))
        cast_h = max(2, int(obj_h * squash))
        flat = silhouette.crop((left, top, right + 1, bottom + 1)).resize((obj_w, cast_h))
        canvas = Image.new("L", (width, height), 0)
        canvas.paste(flat, (int(left + shift_x), int(bottom - cast_h * 0.9)))
        strength = float(rng.uniform(0.08, 0.25))
        cast = _blur(np.asarray(canvas, np.float32) / 255.0, max(3.0, 0.05 * obj_h))
        shade = np.maximum(shade, strength * cast)
        kinds.append("cast")
    return np.clip(shade, 0.0, 0.9), "+".join(kinds)


def render_studio_scene(
    rgba: np.ndarray, obj: RealObject, index: int, part: str
) -> tuple[bytes, np.ndarray, StudioScene]:
    """Scene `index` of one object: (JPEG bytes, the exact alpha as uint8, what it shows). Deterministic."""
    seed = int.from_bytes(hashlib.sha256(f"{obj.name}/{index}".encode()).digest()[:8], "big")
    rng = np.random.default_rng(seed)
    label = BACKDROPS[index % len(BACKDROPS)]
    if obj.light_product and index % 2 == 0:
        label = "white" if index % 4 == 0 else "off-white"  # white on white, as often as it comes in
    obj_h, obj_w = rgba.shape[:2]
    fill = rng.uniform(*FILL_RANGE)
    aspect = float(rng.choice([1.0, 1.0, 0.75, 4 / 3, 2 / 3]))  # width / height of the frame
    long_obj = max(obj_w, obj_h)
    long_frame = long_obj / fill
    scale = max(1.0, MIN_LONG_SIDE / long_frame) * rng.uniform(1.0, 1.2)
    if scale > 1.0001:
        size = (max(1, round(obj_w * scale)), max(1, round(obj_h * scale)))
        rgba = _resize_premultiplied(rgba, size)
        obj_h, obj_w = rgba.shape[:2]
        long_frame *= scale
    # The frame holds the object at `fill` of its long side, in the chosen aspect.
    if aspect >= 1.0:
        width, height = round(long_frame), round(long_frame / aspect)
    else:
        width, height = round(long_frame * aspect), round(long_frame)
    width, height = max(width, obj_w + 8), max(height, obj_h + 8)
    left = int((width - obj_w) * rng.uniform(0.35, 0.65))
    top = int((height - obj_h) * rng.uniform(0.45, 0.7))

    alpha = np.zeros((height, width), np.float32)
    product = np.zeros((height, width, 3), np.float32)
    alpha[top : top + obj_h, left : left + obj_w] = rgba[..., 3] / 255.0
    product[top : top + obj_h, left : left + obj_w] = rgba[..., :3]
    colour, falloff, sweep = _backdrop_colour(label, rng)
    backdrop = _backdrop_image(width, height, colour, falloff, sweep)
    shade, shadow = _shadows(alpha, rng)
    backdrop *= (1.0 - shade)[..., None]
    photo = alpha[..., None] * product + (1.0 - alpha[..., None]) * backdrop
    photo += rng.normal(0.0, rng.uniform(0.6, 2.2), photo.shape).astype(np.float32)
    quality = int(rng.integers(82, 96))
    out = io.BytesIO()
    Image.fromarray(np.clip(np.round(photo), 0, 255).astype(np.uint8)).save(
        out, "JPEG", quality=quality, subsampling=2 if quality < 90 else 0
    )
    truth = np.clip(np.round(alpha * 255.0), 0, 255).astype(np.uint8)
    info = StudioScene(
        name=f"{obj.name}__{index}",
        object=obj.name,
        category=obj.category,
        part=part,
        backdrop=label,
        light_product=obj.light_product,
        thin_or_holes=obj.thin_or_holes,
        shadow=shadow,
        width=width,
        height=height,
        jpeg_quality=quality,
    )
    return out.getvalue(), truth, info


def _resize_premultiplied(rgba: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize RGBA without dark fringes: colours are weighted by alpha while they are resampled."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    premultiplied = np.concatenate([rgba[..., :3] * alpha, alpha * 255.0], axis=2).astype(np.float32)
    channels = [
        np.asarray(Image.fromarray(premultiplied[..., k]).resize(size, Image.Resampling.LANCZOS))
        for k in range(4)
    ]
    out_alpha = np.clip(channels[3], 0, 255)
    weight = np.maximum(out_alpha / 255.0, 1e-6)
    rgb = np.clip(np.stack(channels[:3], axis=2) / weight[..., None], 0, 255)
    rgb[out_alpha < 0.5] = 0
    return np.dstack([rgb, out_alpha]).round().astype(np.uint8)


def build_studio(out: Path, part: str = "eval", per_object: int = PER_OBJECT,
                 devset: Path | None = None) -> list[StudioScene]:
    """Render the scenes of one part into out/ (NAME.jpg, masks/NAME.png, index.json) unless already there."""
    out = Path(out)
    every = load_objects(devset)
    parts = split(every)
    objects = [o for o in every if part == "all" or parts[o.name] == part]
    wanted = {"part": part, "per_object": per_object, "objects": [o.name for o in objects], "salt": SPLIT_SALT}
    index_file = out / "index.json"
    if index_file.is_file():
        cached = json.loads(index_file.read_text())
        if cached.get("wanted") == wanted:
            return [StudioScene(**item) for item in cached["scenes"]]
    (out / "masks").mkdir(parents=True, exist_ok=True)
    root = devset or devset_dir()
    scenes: list[StudioScene] = []
    for obj in objects:
        with Image.open(root / "objects" / f"{obj.name}.png") as image:
            rgba = np.asarray(image.convert("RGBA"))
        for index in range(per_object):
            photo, truth, info = render_studio_scene(rgba, obj, index, parts[obj.name])
            (out / f"{info.name}.jpg").write_bytes(photo)
            Image.fromarray(truth).save(out / "masks" / f"{info.name}.png")
            scenes.append(info)
    index_file.write_text(json.dumps({"wanted": wanted, "scenes": [asdict(s) for s in scenes]}, indent=1))
    return scenes



def scene_rows(out: Path, part: str, set_name: str, per_object: int = PER_OBJECT,
               devset: Path | None = None) -> list[dict[str, object]]:
    """The scenes of one part as the evaluation and the gate's fit read them: what each shows, its photo and truth."""
    return [
        {**asdict(scene), "set": set_name, "kind": scene.category.split("/")[0],
         "photo": str(out / f"{scene.name}.jpg"), "truth": str(out / "masks" / f"{scene.name}.png")}
        for scene in build_studio(out, part, per_object=per_object, devset=devset)
    ]

def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("eval", "fit", "all"), default="eval")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--per-object", type=int, default=PER_OBJECT)
    args = parser.parse_args(argv)
    out = args.out or DEFAULT_OUT.parent / f"real-{args.part}"
    scenes = build_studio(out, args.part, args.per_object)
    print(f"{len(scenes)} scenes of {len({s.object for s in scenes})} objects in {out}")


if __name__ == "__main__":
    main()
