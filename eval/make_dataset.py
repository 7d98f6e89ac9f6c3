"""Render the labelled evaluation set: seeded studio scenes with exact product masks, hard cases included.

Run: python -m eval.make_dataset [--out build/eval/data] [--count 120]

Each scene is drawn with tools/make_examples.py's renderer (lit solids, soft contact shadows, texture,
sensor noise) and then goes through what a camera and a studio add: a backdrop that is white, off-white, grey
or a graded sweep; lens softness; noise; JPEG at a random quality. Products are picked from a small grammar
(boxes, bottles, mugs with handles, rings, chains and straps, glass, soft shapes), in random colours with a
share deliberately close to the backdrop, at random sizes and positions (some small, some cut by the frame),
plus empty frames. The mask is exact coverage (shadows and reflections excluded). Everything is seeded, so
the same count gives the same files on the same Pillow/libjpeg; nothing here is committed.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "build" / "eval" / "data"
# Kinds in rotation; the list order is the round-robin, so any count covers every kind.
KINDS = (
    "box",
    "bottle",
    "mug",
    "ring",
    "chain",
    "strap_bag",
    "glass",
    "blob",
    "box",
    "bottle",
    "tube",
    "empty",
)


def _renderer() -> ModuleType:
    """tools/make_examples.py as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("packshot_examples", ROOT / "tools" / "make_examples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ex = _renderer()


@dataclass(frozen=True)
class SceneInfo:
    """What the scene is, so results can be broken down by hard case."""

    name: str
    kind: str
    backdrop: str
    near_backdrop: bool  # product colour within ~25 levels of the backdrop
    small: bool
    touches_frame: bool
    width: int
    height: int
    jpeg_quality: int


def _backdrop(rng: np.random.Generator) -> tuple[str, tuple[float, float, float], float, float]:
    """(label, colour, falloff, sweep): mostly white, as studios shoot, but off-white, grey and graded too."""
    pick = rng.random()
    if pick < 0.45:
        return "white", (255.0, 255.0, 255.0), float(rng.uniform(0, 0.02)), 0.0
    if pick < 0.65:
        base = rng.uniform(232, 248)
        return "off-white", (base, base - rng.uniform(0, 5), base - rng.uniform(2, 10)), 0.03, 0.02
    if pick < 0.85:
        g = rng.uniform(150, 215)
        return "grey", (g, g, g + rng.uniform(-4, 4)), float(rng.uniform(0.02, 0.06)), 0.0
    base = rng.uniform(215, 250)
    return "gradient", (base, base, base), float(rng.uniform(0.05, 0.1)), float(rng.uniform(0.08, 0.18))


def _product_colour(
    rng: np.random.Generator, backdrop: tuple[float, float, float], near: bool
) -> tuple[float, float, float]:
    if near:
        # Within about 25 levels of the backdrop, slightly darker as a lit object usually is.
        shift = rng.uniform(-25, -6)
        return tuple(float(np.clip(c + shift + rng.uniform(-4, 4), 0, 255)) for c in backdrop)  # type: ignore[return-value]
    hue = rng.random()
    sat = rng.uniform(0.2, 0.9)
    val = rng.uniform(50, 230)
    rgb = np.asarray(
        [0.5 + 0.5 * math.cos(2 * math.pi * (hue + k / 3)) for k in range(3)]
    ) * sat + (1 - sat)
    return tuple(float(c) for c in np.clip(rgb * val, 0, 255))  # type: ignore[return-value]


def render_scene(index: int) -> tuple[bytes, Image.Image, SceneInfo]:
    """Scene number `index`: the photo (JPEG bytes), its exact mask (L) and what it shows."""
    rng = np.random.default_rng(10_000 + index)
    kind = KINDS[index % len(KINDS)]
    w = int(rng.choice([1000, 1100, 1200, 1280]))
    h = int(w * rng.choice([1.0, 1.0, 1.25, 0.8]))
    label, colour, falloff, sweep = _backdrop(rng)
    sc = ex.Scene(w, h, colour, int(rng.integers(1 << 30)), falloff=falloff, sweep=sweep)
    near = kind != "empty" and rng.random() < 0.22
    small = kind != "empty" and rng.random() < 0.15
    scale = rng.uniform(0.18, 0.3) if small else rng.uniform(0.45, 0.8)
    # A product that runs off the frame: a close crop a studio sometimes sends.
    touches = kind != "empty" and not small and rng.random() < 0.1
    cx = w * (rng.uniform(0.4, 0.6) if not touches else rng.choice([0.12, 0.88]))
    cy = h * rng.uniform(0.45, 0.58)
    size = scale * min(w, h)
    fg = _product_colour(rng, colour, near)
    draw = _KIND_DRAW[kind]
    draw(sc, rng, cx, cy, size, fg)
    # Lens softness: real edges are never a perfect box-filtered step.
    sc.img = _soften(sc.img, float(rng.uniform(0.3, 0.9)))
    photo, mask = sc.finish(noise=float(rng.uniform(0.8, 3.0)))
    quality = int(rng.integers(78, 96))
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=quality, subsampling=2 if quality < 90 else 0)
    mask_arr = np.asarray(mask)
    touched = bool(
        (mask_arr[0] > 127).any() or (mask_arr[-1] > 127).any()
        or (mask_arr[:, 0] > 127).any() or (mask_arr[:, -1] > 127).any()
    )
    info = SceneInfo(
        name=f"{index:03d}_{kind}",
        kind=kind,
        backdrop=label,
        near_backdrop=near,
        small=small,
        touches_frame=touched,
        width=w,
        height=h,
        jpeg_quality=quality,
    )
    return out.getvalue(), mask, info


def _soften(img: np.ndarray, amount: float) -> np.ndarray:
    """A separable 3-tap blur, `amount` of the weight on the neighbours: lens softness of about half a pixel."""
    a = amount / 3.0
    out = img * (1 - 2 * a)
    out[1:-1] += a * (img[:-2] + img[2:])
    out[0] += 2 * a * img[0]
    out[-1] += 2 * a * img[-1]
    res = out * (1 - 2 * a)
    res[:, 1:-1] += a * (out[:, :-2] + out[:, 2:])
    res[:, 0] += 2 * a * out[:, 0]
    res[:, -1] += 2 * a * out[:, -1]
    return res


# -- products: each draws itself centred at (cx, cy) with about `size` px on its longest side ------------


def _shadow_under(sc, rng, cx, bottom, half_width) -> None:
    strength = rng.uniform(0.1, 0.4)
    sc.shadow(cx + half_width * 0.1, bottom, half_width * 1.2, half_width * 0.12, strength, half_width * 0.08)
    if rng.random() < 0.6:  # a wide soft floor shadow as from a big softbox
        sc.shadow(cx + half_width * 0.3, bottom, half_width * 1.8, half_width * 0.3, strength * 0.4, half_width * 0.3)


def _box(sc, rng, cx, cy, size, fg) -> None:
    fw, bh = size * rng.uniform(0.5, 0.75), size * rng.uniform(0.6, 0.9)
    sw, depth = fw * rng.uniform(0.2, 0.45), bh * rng.uniform(0.1, 0.2)
    fl, fr = cx - fw / 2 - sw / 2, cx + fw / 2 - sw / 2
    base = cy + bh / 2
    _shadow_under(sc, rng, cx, base, fw * 0.6)
    front = [(fl, base - bh), (fr, base - bh), (fr, base), (fl, base)]
    side = [(fr, base - bh), (fr + sw, base - bh - depth), (fr + sw, base - depth), (fr, base)]
    top = [(fl, base - bh), (fl + sw, base - bh - depth), (fr + sw, base - bh - depth), (fr, base - bh)]
    tex = sc.texture(int(rng.integers(5, 40)), rng.uniform(0.01, 0.06))
    sc.paint(ex.polygon_cov(sc, front), fg, shade=tex * rng.uniform(0.88, 0.97))
    sc.paint(ex.polygon_cov(sc, side), fg, shade=tex * rng.uniform(0.7, 0.9))
    sc.paint(ex.polygon_cov(sc, top), fg, shade=tex * rng.uniform(0.98, 1.08))
    if rng.random() < 0.6:
        ink = (30.0, 30.0, 30.0) if sum(fg) > 380 else (235.0, 235.0, 235.0)
        sc.text((cx - sw / 2, base - bh * 0.5), "BRAND", max(10, int(fw * 0.14)), ink)


def _lathe_body(sc, rng, cx, cy, size, fg, *, neck: float) -> tuple[float, float, float]:
    hgt = size
    r = size * rng.uniform(0.15, 0.3)
    y0, y1 = cy - hgt / 2, cy + hgt / 2

    def profile(t: np.ndarray) -> np.ndarray:
        shoulder = np.clip(t / max(neck, 1e-3), 0, 1)
        return r * (0.35 + 0.65 * np.sqrt(1 - (1 - shoulder) ** 2))

    _shadow_under(sc, rng, cx, y1, r)
    body = sc.lathe(cx, y0, y1, profile)
    shade, hl = sc.cylinder_shade(cx, r, spec=rng.uniform(0.2, 0.7))
    sc.paint(body, fg, shade=shade * sc.texture(9, 0.02), highlight=hl)
    return r, y0, y1


def _bottle(sc, rng, cx, cy, size, fg) -> None:
    r, y0, _ = _lathe_body(sc, rng, cx, cy, size, fg, neck=rng.uniform(0.08, 0.3))
    if rng.random() < 0.7:
        cap = sc.lathe(cx, y0 - size * 0.08, y0 + 2, lambda t: r * 0.33 + 0 * t)
        cshade, chl = sc.cylinder_shade(cx, r * 0.33, spec=0.4)
        sc.paint(cap, tuple(rng.uniform(20, 240, 3)), shade=cshade, highlight=chl)


def _tube(sc, rng, cx, cy, size, fg) -> None:
    # A cosmetics tube: a crimped flat end at the top, a cap at the bottom.
    wdt = size * rng.uniform(0.2, 0.32)
    top, bottom = cy - size / 2, cy + size / 2
    pts = [(cx - wdt * 0.75, top), (cx + wdt * 0.75, top), (cx + wdt * 0.5, bottom - size * 0.12),
           (cx - wdt * 0.5, bottom - size * 0.12)]
    _shadow_under(sc, rng, cx, bottom, wdt)
    shade, hl = sc.cylinder_shade(cx, wdt * 0.7, spec=0.3)
    sc.paint(ex.polygon_cov(sc, pts), fg, shade=shade, highlight=hl)
    cap = [(cx - wdt * 0.3, bottom - size * 0.12), (cx + wdt * 0.3, bottom - size * 0.12),
           (cx + wdt * 0.3, bottom), (cx - wdt * 0.3, bottom)]
    sc.paint(ex.polygon_cov(sc, cap), (40.0, 40.0, 40.0), shade=shade)


def _mug(sc, rng, cx, cy, size, fg) -> None:
    r = size * 0.3
    y0, y1 = cy - size * 0.35, cy + size * 0.35
    side = 1 if rng.random() < 0.5 else -1
    hx, hy = cx + side * r * 1.02, cy
    _shadow_under(sc, rng, cx, y1, r * 1.2)
    outer = sc.coverage(lambda d, s: d.ellipse(((hx - r * 0.45) * s, (hy - size * 0.22) * s,
                                                 (hx + r * 0.45) * s, (hy + size * 0.22) * s), fill=255))
    hole = sc.coverage(lambda d, s: d.ellipse(((hx - r * 0.25) * s, (hy - size * 0.14) * s,
                                                (hx + r * 0.25) * s, (hy + size * 0.14) * s), fill=255))
    sc.paint(np.clip(outer - hole, 0, 1), fg, shade=0.85)
    body = sc.coverage(lambda d, s: d.rectangle(((cx - r) * s, y0 * s, (cx + r) * s, y1 * s), fill=255))
    shade, hl = sc.cylinder_shade(cx, r, spec=0.5)
    sc.paint(body, fg, shade=shade, highlight=hl)


def _ring(sc, rng, cx, cy, size, fg) -> None:
    # A ring or bangle seen from above: a thick annulus, the hole shows the backdrop.
    outer, inner = size * 0.5, size * rng.uniform(0.3, 0.42)
    # Jewellery is shot flat in a light tent: no cast shadow (a disc of shadow would turn the hole into a
    # grey plate, and a hard rim of shadow would be part of the product to any eye).
    cov = sc.coverage(lambda d, s: d.ellipse(((cx - outer) * s, (cy - outer) * s, (cx + outer) * s,
                                              (cy + outer) * s), fill=255))
    hole = sc.coverage(lambda d, s: d.ellipse(((cx - inner) * s, (cy - inner) * s, (cx + inner) * s,
                                               (cy + inner) * s), fill=255))
    ang = np.arctan2(sc.yy - cy, sc.xx - cx)
    shine = 0.75 + 0.3 * np.cos(ang * 2 + rng.uniform(0, 6))
    sc.paint(np.clip(cov - hole, 0, 1), fg, shade=shine)


def _chain(sc, rng, cx, cy, size, fg) -> None:
    # A thin chain or cord in a loose loop: a few px wide, mostly backdrop inside.
    n = 7
    pts = [(cx + size * 0.5 * math.cos(a) * rng.uniform(0.7, 1.0),
            cy + size * 0.5 * math.sin(a) * rng.uniform(0.7, 1.0))
           for a in np.linspace(0, 2 * math.pi, n, endpoint=False)]
    path = ex.spline(pts, closed=True, steps=30)
    width = max(2.0, size * rng.uniform(0.006, 0.02))
    cov = sc.coverage(lambda d, s: d.line(ex.scaled(path + path[:1], s), fill=255, width=int(width * s), joint="curve"))
    sc.paint(cov, fg, shade=0.8 * sc.texture(50, 0.2))
    pend_r = size * 0.06
    px, py = path[len(path) // 4]
    pend = sc.coverage(lambda d, s: d.ellipse(((px - pend_r) * s, (py - pend_r) * s, (px + pend_r) * s,
                                               (py + pend_r) * s), fill=255))
    sc.paint(pend, fg, shade=0.9)


def _strap_bag(sc, rng, cx, cy, size, fg) -> None:
    # A bag whose thin strap makes a large enclosed hole above it.
    bw, bh = size * 0.7, size * 0.45
    top, bottom = cy, cy + bh
    _shadow_under(sc, rng, cx, bottom, bw * 0.5)
    strap_w = max(3.0, size * rng.uniform(0.01, 0.03))
    arc = [(cx - bw * 0.3, top), (cx - bw * 0.3, cy - size * 0.35), (cx + bw * 0.3, cy - size * 0.35),
           (cx + bw * 0.3, top)]
    path = ex.spline(arc, closed=False, steps=30)
    strap = sc.coverage(lambda d, s: d.line(ex.scaled(path, s), fill=255, width=int(strap_w * s), joint="curve"))
    sc.paint(strap, fg, shade=0.75)
    body = [(cx - bw / 2, top), (cx + bw / 2, top), (cx + bw * 0.55, bottom), (cx - bw * 0.55, bottom)]
    shade, hl = sc.cylinder_shade(cx, bw * 0.55, spec=0.2)
    sc.paint(ex.polygon_cov(sc, body), fg, shade=shade * sc.texture(30, 0.05), highlight=hl)


def _glass(sc, rng, cx, cy, size, fg) -> None:
    # Clear or tinted glass: the backdrop shows through, the silhouette is darker, highlights are sharp.
    r = size * rng.uniform(0.15, 0.25)
    y0, y1 = cy - size / 2, cy + size / 2

    def profile(t: np.ndarray) -> np.ndarray:
        return r * (0.35 + 0.65 * np.clip(t / 0.25, 0, 1))

    sc.shadow(cx, y1, r * 1.2, r * 0.1, 0.2, r * 0.1)
    body = sc.lathe(cx, y0, y1, profile)
    u = np.clip((sc.xx - cx) / np.maximum(profile(np.clip((sc.yy - y0) / (y1 - y0), 0, 1)), 1), -1, 1)
    tint = np.asarray(fg, np.float32) if rng.random() < 0.6 else np.asarray((235, 240, 240), np.float32)
    mix = rng.uniform(0.2, 0.55)
    glass = sc.img * (1 - mix) + tint * mix
    glass = glass * (1 - 0.5 * np.abs(u) ** 3)[..., None]
    _, hl = sc.cylinder_shade(cx, r, spec=0.85, spec_at=-0.5, spec_width=0.05)
    glass = glass + (255 - glass) * np.clip(hl, 0, 1)[..., None]
    sc.img = sc.img * (1 - body[..., None]) + glass * body[..., None]
    sc.mask = sc.mask + body * (1 - sc.mask)


def _blob(sc, rng, cx, cy, size, fg) -> None:
    # A soft organic outline (a shoe, a plush toy, a bag of coffee).
    n = int(rng.integers(6, 10))
    pts = [(cx + size * 0.5 * math.cos(a) * rng.uniform(0.55, 1.0),
            cy + size * 0.35 * math.sin(a) * rng.uniform(0.6, 1.0))
           for a in np.linspace(0, 2 * math.pi, n, endpoint=False)]
    _shadow_under(sc, rng, cx, cy + size * 0.3, size * 0.45)
    cov = ex.polygon_cov(sc, ex.spline(pts, closed=True, steps=20))
    shade = 0.75 + 0.3 * np.clip(1 - np.hypot(sc.xx - cx + size * 0.1, sc.yy - cy + size * 0.1) / size, 0, 1)
    sc.paint(cov, fg, shade=shade * sc.texture(20, rng.uniform(0.02, 0.1)))


def _empty(sc, rng, cx, cy, size, fg) -> None:
    # No product: a bare sweep, sometimes with a stray shadow where a product was.
    if rng.random() < 0.5:
        sc.shadow(cx, cy, size * 0.3, size * 0.05, 0.15, size * 0.05)


_KIND_DRAW = {
    "box": _box,
    "bottle": _bottle,
    "tube": _tube,
    "mug": _mug,
    "ring": _ring,
    "chain": _chain,
    "strap_bag": _strap_bag,
    "glass": _glass,
    "blob": _blob,
    "empty": _empty,
}


def build(out: Path, count: int) -> list[SceneInfo]:
    """Render `count` scenes into out/ (NAME.jpg, masks/NAME.png, index.json) unless already there."""
    out = Path(out)
    index_file = out / "index.json"
    if index_file.is_file():
        cached = json.loads(index_file.read_text())
        if cached.get("count") == count:
            return [SceneInfo(**item) for item in cached["scenes"]]
    (out / "masks").mkdir(parents=True, exist_ok=True)
    infos: list[SceneInfo] = []
    for index in range(count):
        photo, mask, info = render_scene(index)
        (out / f"{info.name}.jpg").write_bytes(photo)
        mask.save(out / "masks" / f"{info.name}.png")
        infos.append(info)
    index_file.write_text(json.dumps({"count": count, "scenes": [asdict(i) for i in infos]}, indent=1))
    return infos


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--count", type=int, default=120)
    args = parser.parse_args(argv)
    infos = build(args.out, args.count)
    print(f"{len(infos)} scenes in {args.out}")


if __name__ == "__main__":
    main()
