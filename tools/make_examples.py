"""Render the sample product photos in examples/ deterministically, with their exact ground-truth masks.

Run: python tools/make_examples.py  (writes examples/*.jpg, examples/manifest.csv, examples/masks/*.png)

Each photo is a studio shot built from shapes: a backdrop with a slight falloff, a soft contact shadow, a
product shaded as a lit solid (cylinders get a diffuse term and a specular stripe, boxes get three faces),
printed labels, low-frequency texture and sensor noise, then JPEG. The mask is the product's exact coverage
(shadows excluded), so the cutout can be scored by IoU. Everything is seeded: reruns give the same pixels
(on the same Pillow/libjpeg).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

HERE = Path(__file__).resolve().parents[1] / "examples"  # where the photos, masks and manifest go
SS = 3  # supersampling factor for coverage: edges anti-aliased like a real lens, not stair-stepped

Colour = tuple[float, float, float]
Draw = Callable[[ImageDraw.ImageDraw, float], None]


class Scene:
    """One photo being rendered: float RGB in 0..255 and the product's coverage."""

    def __init__(
        self,
        width: int,
        height: int,
        backdrop: Colour,
        seed: int,
        *,
        falloff: float = 0.0,
        sweep: float = 0.0,
    ) -> None:
        self.w, self.h = width, height
        self.rng = np.random.default_rng(seed)
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        self.xx, self.yy = xx, yy
        # Studio backdrops are brightest in the middle (falloff, radial) and often darker at the top of the
        # sweep; a pure-white shot is overexposed on purpose, so the clip at 255 keeps it pure.
        r = np.hypot((xx - width / 2) / (width / 2), (yy - height / 2) / (height / 2))
        shade = 1.0 - falloff * r**2 - sweep * (1.0 - yy / height)
        self.img = np.asarray(backdrop, np.float32)[None, None, :] * shade[..., None]
        self.mask = np.zeros((height, width), np.float32)

    # -- geometry -------------------------------------------------------------------------------------
    def coverage(self, draw: Draw) -> np.ndarray:
        """Coverage in [0, 1] of whatever `draw(d, s)` paints with coordinates multiplied by s."""
        canvas = Image.new("L", (self.w * SS, self.h * SS), 0)
        draw(ImageDraw.Draw(canvas), SS)
        return np.asarray(canvas.reduce(SS), np.float32) / 255.0

    def lathe(
        self, cx: float, y0: float, y1: float, radius: Callable[[np.ndarray], np.ndarray]
    ) -> np.ndarray:
        """Coverage of a solid of revolution seen side-on: |x - cx| < radius(t), t = 0 at y0 .. 1 at y1."""
        t = (self.yy - y0) / (y1 - y0)
        inside_y = np.clip(np.minimum(self.yy - y0, y1 - self.yy) + 0.5, 0, 1)
        rad = radius(np.clip(t, 0, 1))
        return np.clip(rad - np.abs(self.xx - cx) + 0.5, 0, 1) * inside_y

    def cylinder_shade(
        self,
        cx: float,
        half_width: np.ndarray | float,
        *,
        light: float = -0.45,
        ambient: float = 0.45,
        spec: float = 0.55,
        spec_at: float = -0.45,
        spec_width: float = 0.09,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Diffuse factor and specular amount of a vertical cylinder lit from the front-left."""
        u = np.clip((self.xx - cx) / np.maximum(half_width, 1.0), -0.999, 0.999)
        nz = np.sqrt(1 - u**2)
        diffuse = np.clip(u * math.sin(light) + nz * math.cos(light), 0, 1)
        shade = ambient + (1 - ambient) * diffuse
        highlight = spec * np.exp(-(((u - spec_at) / spec_width) ** 2))
        # A softbox on the right gives the rim light studio shots have on both edges.
        highlight += 0.35 * spec * np.exp(-(((u - 0.82) / 0.05) ** 2))
        return shade.astype(np.float32), highlight.astype(np.float32)

    def texture(self, cells: int, amount: float) -> np.ndarray:
        """Smooth multiplicative variation around 1 (paper fibre, plastic moulding, uneven light)."""
        small = self.rng.normal(0, 1, (cells, cells)).astype(np.float32)
        field = np.asarray(Image.fromarray(small, "F").resize((self.w, self.h), Image.Resampling.BICUBIC))
        return 1.0 + amount * field / (np.abs(field).max() + 1e-6)

    # -- painting -------------------------------------------------------------------------------------
    def shadow(self, cx: float, cy: float, rx: float, ry: float, strength: float, blur: float) -> None:
        """A soft contact shadow: darkens the backdrop only; never part of the product mask."""
        layer = Image.new("L", (self.w, self.h), 0)
        ImageDraw.Draw(layer).ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=255)
        soft = np.asarray(layer.filter(ImageFilter.GaussianBlur(blur)), np.float32) / 255.0
        self.img *= (1.0 - strength * soft)[..., None]

    def paint(
        self,
        cov: np.ndarray,
        colour: Colour | np.ndarray,
        *,
        shade: np.ndarray | float = 1.0,
        highlight: np.ndarray | float = 0.0,
        product: bool = True,
        opacity: float = 1.0,
    ) -> None:
        """Composite a coloured, shaded layer; `product` layers join the ground-truth mask."""
        col = np.asarray(colour, np.float32)
        if col.ndim == 1:
            col = col[None, None, :]
        shaded = col * np.asarray(shade, np.float32)[..., None] if np.ndim(shade) else col * shade
        hl = np.asarray(highlight, np.float32)
        shaded = shaded + (255.0 - shaded) * np.clip(hl, 0, 1)[..., None] if hl.ndim else shaded
        c = (cov * opacity)[..., None]
        self.img = self.img * (1 - c) + shaded * c
        if product:
            self.mask = self.mask + cov * (1 - self.mask)

    def text(
        self, xy: tuple[float, float], words: str, size: int, colour: Colour, *, anchor: str = "mm"
    ) -> None:
        """Printed text on the product (already inside the mask, so it does not change it)."""
        font = ImageFont.load_default(size=size * SS)

        def draw(d: ImageDraw.ImageDraw, s: float) -> None:
            d.text((xy[0] * s, xy[1] * s), words, fill=255, font=font, anchor=anchor)

        self.paint(self.coverage(draw), colour, product=False)

    def finish(self, noise: float = 1.6) -> tuple[Image.Image, Image.Image]:
        """Sensor noise (luma and a little chroma), quantisation; returns the photo and its mask."""
        luma = self.rng.normal(0, noise, (self.h, self.w, 1)).astype(np.float32)
        chroma = self.rng.normal(0, noise * 0.35, (self.h, self.w, 3)).astype(np.float32)
        pixels = np.clip(self.img + luma + chroma, 0, 255).round().astype(np.uint8)
        mask = np.clip(self.mask * 255.0, 0, 255).round().astype(np.uint8)
        return Image.fromarray(pixels, "RGB"), Image.fromarray(mask, "L")


def spline(
    points: list[tuple[float, float]], closed: bool = True, steps: int = 24
) -> list[tuple[float, float]]:
    """Catmull-Rom through the points: smooth outlines for shoes, tubes and chains."""
    pts = points + points[:3] if closed else [points[0], *points, points[-1]]
    out: list[tuple[float, float]] = []
    for i in range(len(pts) - 3):
        p0, p1, p2, p3 = (np.asarray(p, float) for p in pts[i : i + 4])
        for t in np.linspace(0, 1, steps, endpoint=False):
            q = 0.5 * (
                (2 * p1)
                + (-p0 + p2) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3
            )
            out.append((float(q[0]), float(q[1])))
    return out


def scaled(points: list[tuple[float, float]], s: float) -> list[tuple[float, float]]:
    return [(x * s, y * s) for x, y in points]


def polygon_cov(scene: Scene, points: list[tuple[float, float]]) -> np.ndarray:
    return scene.coverage(lambda d, s: d.polygon(scaled(points, s), fill=255))


# ----------------------------------------------------------------------------------------------------------
# The products. Each takes a seed and returns a finished Scene.


def cardboard_box(seed: int, w: int = 2000, h: int = 2000, white: bool = False) -> Scene:
    """A shipping box in three-quarter view; `white` makes the hard case: a white box on white."""
    sc = Scene(w, h, (255, 255, 255), seed, falloff=0.0 if not white else 0.01)
    cx, base = w * 0.5, h * 0.8
    fw, sw, bh, depth = w * 0.36, w * 0.2, h * 0.42, h * 0.09
    # Front face corners, then the side face receding to the right and the top face.
    fl, fr = cx - fw * 0.62, cx + fw * 0.38
    front = [(fl, base - bh), (fr, base - bh), (fr, base), (fl, base)]
    side = [(fr, base - bh), (fr + sw, base - bh - depth), (fr + sw, base - depth), (fr, base)]
    top = [(fl, base - bh), (fl + sw, base - bh - depth), (fr + sw, base - bh - depth), (fr, base - bh)]
    sc.shadow(
        cx + sw * 0.3, base - depth * 0.3, fw * 0.78, depth * 0.75, 0.30 if not white else 0.22, w * 0.02
    )
    sc.shadow(cx + sw * 0.25, base - depth * 0.2, fw * 0.62, depth * 0.35, 0.35, w * 0.006)
    tex = sc.texture(40, 0.05 if not white else 0.012) * sc.texture(7, 0.04 if not white else 0.015)
    base_col: Colour = (249, 248, 246) if white else (196, 152, 104)
    gy = (sc.yy - (base - bh)) / bh  # light falls off toward the floor on the front face
    sc.paint(
        polygon_cov(sc, front),
        base_col,
        shade=tex * (0.93 - 0.06 * gy) if white else tex * (0.92 - 0.08 * gy),
    )
    sc.paint(polygon_cov(sc, side), base_col, shade=tex * (0.84 if white else 0.70))
    sc.paint(polygon_cov(sc, top), base_col, shade=tex * (1.0 if white else 1.06))
    # Packing tape across the top and down the front, slightly glossy.
    tape = [
        (cx - fw * 0.13, base - bh),
        (cx - fw * 0.13 + sw, base - bh - depth),
        (cx + fw * 0.02 + sw, base - bh - depth),
        (cx + fw * 0.02, base - bh),
    ]
    tape_col: Colour = (236, 236, 232) if white else (178, 132, 84)
    sc.paint(polygon_cov(sc, tape), tape_col, shade=1.04, product=False)
    down = [
        (cx - fw * 0.13, base - bh),
        (cx + fw * 0.02, base - bh),
        (cx + fw * 0.02, base - bh * 0.8),
        (cx - fw * 0.13, base - bh * 0.8),
    ]
    sc.paint(polygon_cov(sc, down), tape_col, shade=0.96, product=False)
    ink: Colour = (120, 160, 200) if white else (60, 45, 35)
    sc.text((cx - fw * 0.12, base - bh * 0.45), "FRAGILE" if not white else "nordic", int(h * 0.045), ink)
    sc.text(
        (cx - fw * 0.12, base - bh * 0.3), "THIS SIDE UP" if not white else "ceramic set", int(h * 0.022), ink
    )
    return sc


def shampoo_bottle(seed: int, w: int = 1800, h: int = 2400) -> Scene:
    sc = Scene(w, h, (245, 242, 236), seed, falloff=0.035, sweep=0.02)
    cx, y0, y1 = w * 0.5, h * 0.17, h * 0.86
    body_r = w * 0.17

    def profile(t: np.ndarray) -> np.ndarray:
        shoulder = np.clip(t / 0.12, 0, 1)
        return body_r * (0.42 + 0.58 * np.sqrt(1 - (1 - shoulder) ** 2)) * (1 - 0.02 * t)

    sc.shadow(cx + w * 0.03, y1, body_r * 1.25, h * 0.018, 0.35, w * 0.012)
    sc.shadow(cx + w * 0.05, y1 - h * 0.005, body_r * 1.6, h * 0.04, 0.15, w * 0.04)
    body = sc.lathe(cx, y0, y1, profile)
    shade, hl = sc.cylinder_shade(cx, body_r)
    sc.paint(body, (120, 70, 150), shade=shade * sc.texture(9, 0.02), highlight=hl)
    # Flip-top cap.
    cap = sc.lathe(cx, h * 0.08, y0 + 2, lambda t: body_r * 0.44 * (1 - 0.05 * t) + 0 * t)
    cshade, chl = sc.cylinder_shade(cx, body_r * 0.44, spec=0.4)
    sc.paint(cap, (238, 236, 232), shade=cshade, highlight=chl)
    lid_line = sc.coverage(
        lambda d, s: d.rectangle(
            ((cx - body_r * 0.44) * s, (h * 0.115) * s, (cx + body_r * 0.44) * s, (h * 0.118) * s), fill=255
        )
    )
    sc.paint(lid_line * cap, (150, 148, 145), product=False)
    # Label wraps around the bottle, so it gets the same shading.
    label = (
        sc.coverage(
            lambda d, s: d.rectangle(
                ((cx - body_r) * s, (h * 0.42) * s, (cx + body_r) * s, (h * 0.74) * s), fill=255
            )
        )
        * body
    )
    sc.paint(label, (248, 246, 240), shade=shade, highlight=hl * 0.7, product=False)
    sc.text((cx, h * 0.50), "LAVENDA", int(w * 0.045), (90, 50, 120))
    sc.text((cx, h * 0.56), "repair shampoo", int(w * 0.025), (80, 80, 80))
    sc.text((cx, h * 0.70), "400 ml", int(w * 0.02), (80, 80, 80))
    return sc


def glass_bottle(seed: int, w: int = 1800, h: int = 2400) -> Scene:
    """Teal glass: the backdrop shows through, edges are dark (Fresnel), highlights are sharp."""
    sc = Scene(w, h, (255, 255, 255), seed, falloff=0.02)
    cx, y0, y1 = w * 0.5, h * 0.22, h * 0.88
    r = w * 0.15

    def profile(t: np.ndarray) -> np.ndarray:
        neck = np.where(t < 0.18, 0.32, 0.32 + 0.68 * np.sin(np.clip((t - 0.18) / 0.14, 0, 1) * np.pi / 2))
        return r * neck

    sc.shadow(cx, y1, r * 1.2, h * 0.015, 0.25, w * 0.01)
    # Light through tinted glass lands as a coloured caustic behind the bottle.
    caustic = Image.new("L", (w, h), 0)
    ImageDraw.Draw(caustic).ellipse((cx - r * 0.9, y1 - h * 0.01, cx + r * 1.5, y1 + h * 0.05), fill=255)
    soft = np.asarray(caustic.filter(ImageFilter.GaussianBlur(w * 0.02)), np.float32)[..., None] / 255
    sc.img = sc.img * (1 - 0.35 * soft) + np.asarray((40, 170, 160), np.float32) * 0.35 * soft
    body = sc.lathe(cx, y0, y1, profile)
    u = np.clip((sc.xx - cx) / np.maximum(profile(np.clip((sc.yy - y0) / (y1 - y0), 0, 1)), 1), -1, 1)
    edge = np.abs(u) ** 3  # thicker glass path at the silhouette: darker
    tint = np.asarray((25, 130, 125), np.float32)
    glass = sc.img * 0.45 + tint * 0.55
    glass = glass * (1 - 0.55 * edge)[..., None]
    _, hl = sc.cylinder_shade(cx, r, spec=0.85, spec_at=-0.55, spec_width=0.06)
    glass = glass + (255 - glass) * np.clip(hl, 0, 1)[..., None]
    c = body[..., None]
    sc.img = sc.img * (1 - c) + glass * c
    sc.mask = sc.mask + body * (1 - sc.mask)
    # Liquid line: the lower part is darker.
    liquid = body * np.clip((sc.yy - h * 0.5) / 3, 0, 1)
    sc.paint(liquid, (10, 80, 78), opacity=0.35, product=False)
    cap = sc.lathe(cx, h * 0.13, y0 + 3, lambda t: r * 0.36 + 0 * t)
    cshade, chl = sc.cylinder_shade(cx, r * 0.36, spec=0.6)
    sc.paint(cap, (40, 40, 42), shade=cshade, highlight=chl)
    return sc


def chain_necklace(seed: int, w: int = 2000, h: int = 2000) -> Scene:
    """A fine chain lying in a loose heart with a pendant: thin lines, mostly background inside."""
    sc = Scene(w, h, (255, 255, 255), seed)
    cx, cy = w * 0.5, h * 0.45
    ctrl = [
        (cx, cy - h * 0.18),
        (cx + w * 0.2, cy - h * 0.33),
        (cx + w * 0.34, cy - h * 0.12),
        (cx + w * 0.2, cy + h * 0.13),
        (cx + w * 0.03, cy + h * 0.3),
        (cx - w * 0.03, cy + h * 0.3),
        (cx - w * 0.2, cy + h * 0.13),
        (cx - w * 0.34, cy - h * 0.12),
        (cx - w * 0.2, cy - h * 0.33),
    ]
    path = spline(ctrl, closed=True, steps=60)
    link_len = w * 0.012
    thickness = max(3.0, w * 0.0032)

    def links(d: ImageDraw.ImageDraw, s: float) -> None:
        # Walk the curve and drop an oval link every link_len, alternating flat and edge-on.
        acc, k = 0.0, 0
        for (x0, y0), (x1, y1) in zip(path, path[1:] + path[:1], strict=True):
            seg = math.hypot(x1 - x0, y1 - y0)
            acc += seg
            while acc >= link_len:
                acc -= link_len
                f = 1 - acc / max(seg, 1e-6)
                x, y = x0 + (x1 - x0) * f, y0 + (y1 - y0) * f
                ang = math.atan2(y1 - y0, x1 - x0)
                half = link_len * 0.75
                wide = link_len * (0.42 if k % 2 == 0 else 0.12)
                pts = [
                    (
                        x + math.cos(ang) * half * math.cos(a) - math.sin(ang) * wide * math.sin(a),
                        y + math.sin(ang) * half * math.cos(a) + math.cos(ang) * wide * math.sin(a),
                    )
                    for a in np.linspace(0, 2 * math.pi, 16, endpoint=False)
                ]
                d.line(scaled(pts + pts[:1], s), fill=255, width=int(thickness * s))
                k += 1

    cov = sc.coverage(links)
    shine = sc.texture(60, 0.25)
    sc.paint(cov, (150, 115, 45), shade=0.75 * shine)
    pend = sc.coverage(
        lambda d, s: d.ellipse(
            ((cx - w * 0.03) * s, (cy + h * 0.31) * s, (cx + w * 0.03) * s, (cy + h * 0.39) * s), fill=255
        )
    )
    ring = sc.coverage(
        lambda d, s: d.ellipse(
            ((cx - w * 0.008) * s, (cy + h * 0.293) * s, (cx + w * 0.008) * s, (cy + h * 0.315) * s),
            outline=255,
            width=int(thickness * s),
        )
    )
    sc.shadow(cx + 6, cy + h * 0.355, w * 0.03, h * 0.04, 0.15, w * 0.006)
    pshade = 0.7 + 0.5 * np.clip(
        1 - np.hypot(sc.xx - cx + w * 0.01, sc.yy - cy - h * 0.34) / (w * 0.03), 0, 1
    )
    sc.paint(pend, (170, 130, 50), shade=pshade)
    sc.paint(ring, (150, 115, 45), shade=0.8)
    sc.paint(
        pend * np.clip(1 - np.hypot(sc.xx - cx, sc.yy - cy - h * 0.35) / (w * 0.013), 0, 1),
        (30, 90, 160),
        product=False,
    )  # a blue stone
    return sc


def mug(seed: int, w: int = 2200, h: int = 1800, colour: Colour = (40, 85, 150)) -> Scene:
    """A mug with its handle to the right: the hole in the handle shows the backdrop."""
    sc = Scene(w, h, (255, 255, 255), seed, falloff=0.01)
    cx, y0, y1 = w * 0.45, h * 0.25, h * 0.8
    r = w * 0.17
    rim_ry = r * 0.22
    sc.shadow(cx + w * 0.05, y1, r * 1.45, rim_ry * 0.8, 0.32, w * 0.012)
    # Handle first (behind the body's right edge): an outer ellipse minus the inner one.
    hx, hy = cx + r * 1.02, (y0 + y1) / 2 - h * 0.02
    handle = sc.coverage(
        lambda d, s: d.ellipse(
            ((hx - r * 0.42) * s, (hy - h * 0.17) * s, (hx + r * 0.42) * s, (hy + h * 0.17) * s), fill=255
        )
    )
    hole = sc.coverage(
        lambda d, s: d.ellipse(
            ((hx - r * 0.22) * s, (hy - h * 0.11) * s, (hx + r * 0.22) * s, (hy + h * 0.11) * s), fill=255
        )
    )
    handle = np.clip(handle - hole, 0, 1)
    hshade = 0.55 + 0.45 * np.clip(
        1 - np.abs(np.hypot((sc.xx - hx) / (r * 0.32), (sc.yy - hy) / (h * 0.14)) - 1) * 3, 0, 1
    )
    sc.paint(handle, colour, shade=hshade * 0.95)
    body = sc.coverage(lambda d, s: d.rectangle(((cx - r) * s, y0 * s, (cx + r) * s, y1 * s), fill=255))
    bottom = sc.coverage(
        lambda d, s: d.ellipse(((cx - r) * s, (y1 - rim_ry) * s, (cx + r) * s, (y1 + rim_ry) * s), fill=255)
    )
    shade, hl = sc.cylinder_shade(cx, r, spec=0.5)
    sc.paint(np.clip(body + bottom, 0, 1), colour, shade=shade * sc.texture(8, 0.015), highlight=hl)
    top = sc.coverage(
        lambda d, s: d.ellipse(((cx - r) * s, (y0 - rim_ry) * s, (cx + r) * s, (y0 + rim_ry) * s), fill=255)
    )
    inner = sc.coverage(
        lambda d, s: d.ellipse(
            ((cx - r * 0.93) * s, (y0 - rim_ry * 0.88) * s, (cx + r * 0.93) * s, (y0 + rim_ry * 0.88) * s),
            fill=255,
        )
    )
    sc.paint(top, colour, shade=1.1)
    inside_shade = 0.35 + 0.5 * np.clip((sc.yy - (y0 - rim_ry)) / (2 * rim_ry), 0, 1)
    sc.paint(inner, (235, 232, 228), shade=inside_shade, product=False)  # glazed white inside
    ink: Colour = (240, 240, 240) if sum(colour) < 600 else (70, 110, 160)
    sc.text((cx - r * 0.1, (y0 + y1) / 2), "coffee", int(h * 0.06), ink)
    return sc


def sneaker(seed: int, w: int = 2400, h: int = 1800) -> Scene:
    sc = Scene(w, h, (255, 255, 255), seed, falloff=0.015)
    s_ = w / 2400
    # Side view, toe to the left; points along the upper, then the sole.
    upper = [
        (300, 1140),
        (330, 1010),
        (480, 930),
        (760, 860),
        (1000, 760),
        (1130, 620),
        (1260, 540),
        (1420, 520),
        (1560, 470),
        (1700, 430),
        (1880, 440),
        (2000, 520),
        (2060, 700),
        (2090, 900),
        (2100, 1150),
        (1200, 1180),
    ]
    sole = [
        (250, 1150),
        (330, 1110),
        (1000, 1150),
        (2110, 1120),
        (2140, 1200),
        (2100, 1290),
        (1700, 1300),
        (900, 1290),
        (420, 1270),
        (280, 1230),
    ]
    up = [(x * s_, y * s_ + h * 0.02) for x, y in upper]
    so = [(x * s_, y * s_ + h * 0.02) for x, y in sole]
    sc.shadow(1200 * s_, 1300 * s_ + h * 0.02, 950 * s_, 45 * s_, 0.35, w * 0.01)
    sc.shadow(1250 * s_, 1300 * s_ + h * 0.02, 1050 * s_, 100 * s_, 0.12, w * 0.03)
    ucov = polygon_cov(sc, spline(up))
    vshade = 0.7 + 0.35 * np.clip(1 - (sc.yy - 450 * s_) / (800 * s_), 0, 1)
    sc.paint(ucov, (200, 30, 40), shade=vshade * sc.texture(50, 0.05), highlight=0.0)
    # A swoosh-like panel, heel tab and the eyelet row.
    panel = [(700, 1080), (1200, 900), (1750, 720), (1950, 760), (1400, 1000), (800, 1120)]
    sc.paint(
        polygon_cov(sc, spline([(x * s_, y * s_ + h * 0.02) for x, y in panel])),
        (245, 245, 245),
        shade=vshade,
        product=False,
    )
    heel = [(1960, 480), (2040, 560), (2080, 800), (2000, 760), (1950, 560)]
    sc.paint(
        polygon_cov(sc, spline([(x * s_, y * s_ + h * 0.02) for x, y in heel])),
        (30, 30, 30),
        shade=0.9,
        product=False,
    )
    for i in range(6):
        x, y = (1050 + i * 110) * s_, (760 - i * 55) * s_ + h * 0.02
        sc.paint(
            sc.coverage(
                lambda d, s, x=x, y=y: d.ellipse(
                    ((x - 14 * s_) * s, (y - 14 * s_) * s, (x + 14 * s_) * s, (y + 14 * s_) * s), fill=255
                )
            ),
            (250, 250, 250),
            product=False,
        )
    scov = polygon_cov(sc, spline(so))
    sshade = 0.98 - 0.18 * np.clip((sc.yy - 1150 * s_) / (150 * s_), 0, 1)
    sc.paint(scov, (242, 240, 236), shade=sshade)
    tread = sc.coverage(
        lambda d, s: d.line(
            [(300 * s_ * s, (1255 * s_ + h * 0.02) * s), (2100 * s_ * s, (1275 * s_ + h * 0.02) * s)],
            fill=255,
            width=int(14 * s_ * s),
        )
    )
    sc.paint(tread * scov, (120, 120, 120), product=False)
    return sc


def book(seed: int, w: int = 1800, h: int = 2400) -> Scene:
    """A hardback standing at a slight angle: cover, spine on the left, page block on the right."""
    sc = Scene(w, h, (255, 255, 255), seed, falloff=0.015)
    lft, r, t, b = w * 0.24, w * 0.78, h * 0.12, h * 0.86
    sp = w * 0.07
    sc.shadow((lft + r) / 2 + w * 0.04, b, (r - lft) * 0.58, h * 0.02, 0.35, w * 0.012)
    spine = [(lft - sp, t + h * 0.02), (lft, t), (lft, b), (lft - sp, b - h * 0.01)]
    pages = [(r, t), (r + w * 0.025, t + h * 0.012), (r + w * 0.025, b - h * 0.005), (r, b)]
    sc.paint(polygon_cov(sc, spine), (20, 40, 80), shade=0.7 * sc.texture(20, 0.04))
    lines = 0.92 + 0.06 * np.sin(sc.xx * 1.7) * np.cos(sc.yy * 0.05)
    sc.paint(polygon_cov(sc, pages), (240, 236, 222), shade=lines)
    cover = polygon_cov(sc, [(lft, t), (r, t), (r, b), (lft, b)])
    gx = (sc.xx - lft) / (r - lft)
    sc.paint(cover, (28, 52, 100), shade=(1.0 - 0.15 * gx) * sc.texture(70, 0.05))
    sc.paint(
        polygon_cov(
            sc,
            [
                (lft + w * 0.06, h * 0.46),
                (r - w * 0.06, h * 0.46),
                (r - w * 0.06, h * 0.465),
                (lft + w * 0.06, h * 0.465),
            ],
        ),
        (210, 170, 80),
        product=False,
    )
    sc.text(((lft + r) / 2, h * 0.3), "THE QUIET", int(w * 0.06), (230, 200, 120))
    sc.text(((lft + r) / 2, h * 0.38), "HARBOUR", int(w * 0.06), (230, 200, 120))
    sc.text(((lft + r) / 2, h * 0.76), "a novel by M. Ellery", int(w * 0.025), (220, 220, 220))
    return sc


def cosmetics_tube(seed: int, w: int = 1600, h: int = 2200) -> Scene:
    """A squeeze tube standing on its cap: crimped flat end up, widening from the cap."""
    sc = Scene(w, h, (255, 255, 255), seed, falloff=0.02)
    cx, y_crimp, y_shoulder, y_cap_top, y_cap_bot = w * 0.5, h * 0.14, h * 0.7, h * 0.72, h * 0.87
    half_top, half_bot = w * 0.2, w * 0.09
    sc.shadow(cx + w * 0.02, y_cap_bot, w * 0.14, h * 0.014, 0.35, w * 0.01)
    tube_pts = [
        (cx - half_top, y_crimp),
        (cx + half_top, y_crimp),
        (cx + half_top * 0.97, h * 0.3),
        (cx + half_bot * 1.2, y_shoulder),
        (cx + half_bot * 0.7, y_cap_top),
        (cx - half_bot * 0.7, y_cap_top),
        (cx - half_bot * 1.2, y_shoulder),
        (cx - half_top * 0.97, h * 0.3),
    ]
    body = polygon_cov(sc, spline(tube_pts, steps=20))
    hw = np.interp(
        sc.yy,
        [y_crimp, h * 0.3, y_shoulder, y_cap_top],
        [half_top, half_top * 0.97, half_bot * 1.2, half_bot * 0.7],
    ).astype(np.float32)
    shade, hl = sc.cylinder_shade(cx, hw, spec=0.45, ambient=0.55)
    # The tube flattens toward the crimp, so the cylinder shading fades out there.
    flat = np.clip((sc.yy - y_crimp) / (h * 0.25), 0, 1)
    sc.paint(body, (236, 196, 190), shade=0.92 + (shade - 0.92) * flat, highlight=hl * flat)
    crimp = sc.coverage(
        lambda d, s: d.rectangle(
            ((cx - half_top) * s, (y_crimp - h * 0.035) * s, (cx + half_top) * s, (y_crimp + 2) * s), fill=255
        )
    )
    ridges = 0.85 + 0.12 * (np.sin(sc.yy * 0.9) > 0)
    sc.paint(crimp, (228, 186, 180), shade=ridges)
    cap = sc.coverage(
        lambda d, s: d.rounded_rectangle(
            ((cx - half_bot) * s, y_cap_top * s, (cx + half_bot) * s, y_cap_bot * s),
            radius=int(w * 0.012 * s),
            fill=255,
        )
    )
    cshade, chl = sc.cylinder_shade(cx, half_bot, spec=0.5)
    sc.paint(cap, (250, 250, 250), shade=cshade, highlight=chl)
    sc.text((cx, h * 0.38), "ROSE", int(w * 0.07), (150, 60, 70))
    sc.text((cx, h * 0.44), "hand cream", int(w * 0.035), (120, 70, 70))
    sc.text((cx, h * 0.6), "75 ml", int(w * 0.025), (120, 70, 70))
    return sc


def headphones(seed: int, w: int = 2000, h: int = 2000) -> Scene:
    """Over-ear headphones facing the camera: a headband arc and two cups around a big hole."""
    sc = Scene(w, h, (255, 255, 255), seed, falloff=0.015)
    cx, cy = w * 0.5, h * 0.5
    rx, ry = w * 0.3, h * 0.32
    band_w = w * 0.045
    sc.shadow(cx, h * 0.86, w * 0.36, h * 0.02, 0.3, w * 0.012)

    def band(d: ImageDraw.ImageDraw, s: float) -> None:
        d.arc(
            ((cx - rx) * s, (cy - ry) * s, (cx + rx) * s, (cy + ry) * s),
            180,
            360,
            fill=255,
            width=int(band_w * s),
        )
        for side in (-1, 1):
            x = cx + side * (rx - band_w / 2)
            d.line([(x * s, cy * s), (x * s, (cy + h * 0.12) * s)], fill=255, width=int(band_w * 0.6 * s))

    bcov = sc.coverage(band)
    dist = np.abs(np.hypot((sc.xx - cx) / rx, (sc.yy - cy) / ry) - 1 + band_w / (2 * rx)) * rx / (band_w / 2)
    sc.paint(bcov, (35, 35, 38), shade=0.9 + 0.6 * np.clip(1 - dist, 0, 1) ** 2)
    for side in (-1, 1):
        ex = cx + side * (rx - band_w * 0.2)
        ey = cy + h * 0.2
        cup = sc.coverage(
            lambda d, s, ex=ex, ey=ey: d.rounded_rectangle(
                ((ex - w * 0.08) * s, (ey - h * 0.13) * s, (ex + w * 0.08) * s, (ey + h * 0.13) * s),
                radius=int(w * 0.07 * s),
                fill=255,
            )
        )
        cushion = sc.coverage(
            lambda d, s, ex=ex, ey=ey, side=side: d.rounded_rectangle(
                (
                    (ex - side * w * 0.035 - w * 0.055) * s,
                    (ey - h * 0.12) * s,
                    (ex - side * w * 0.035 + w * 0.055) * s,
                    (ey + h * 0.12) * s,
                ),
                radius=int(w * 0.05 * s),
                fill=255,
            )
        )
        shade = 0.8 + 0.45 * np.clip(
            1 - np.hypot((sc.xx - ex + w * 0.02) / (w * 0.09), (sc.yy - ey + h * 0.05) / (h * 0.14)), 0, 1
        )
        sc.paint(cup, (55, 55, 60), shade=shade)
        sc.paint(cushion, (25, 25, 27), shade=shade * 0.9)
        sc.paint(
            sc.coverage(
                lambda d, s, ex=ex, ey=ey: d.ellipse(
                    ((ex - w * 0.02) * s, (ey - h * 0.02) * s, (ex + w * 0.02) * s, (ey + h * 0.02) * s),
                    fill=255,
                )
            ),
            (170, 170, 175),
            product=False,
        )
    return sc


def vase_on_grey(seed: int, w: int = 2000, h: int = 2400) -> Scene:
    sc = Scene(w, h, (226, 228, 231), seed, falloff=0.05, sweep=0.05)
    cx, y0, y1 = w * 0.5, h * 0.2, h * 0.84
    r = w * 0.2

    def profile(t: np.ndarray) -> np.ndarray:
        return r * (
            0.38
            + 0.62 * np.clip(np.sin(np.clip(t * 1.05 + 0.05, 0, 1) * np.pi), 0, 1) ** 0.8 * (1 - 0.25 * t)
            + 0.08 * (t < 0.04)
        )

    sc.shadow(cx + w * 0.04, y1, r * 1.0, h * 0.016, 0.4, w * 0.012)
    sc.shadow(cx + w * 0.12, y1 - h * 0.01, r * 1.7, h * 0.05, 0.15, w * 0.05)
    vase = sc.lathe(cx, y0, y1, profile)
    hw = profile(np.clip((sc.yy - y0) / (y1 - y0), 0, 1))
    shade, hl = sc.cylinder_shade(cx, hw, spec=0.35, spec_width=0.12)
    sc.paint(vase, (40, 105, 80), shade=shade * sc.texture(30, 0.06), highlight=hl)
    return sc


def perfume(seed: int, w: int = 1800, h: int = 2200) -> Scene:
    """A faceted perfume bottle with a gold collar and a black cap on warm off-white."""
    sc = Scene(w, h, (246, 243, 238), seed, falloff=0.03)
    cx = w * 0.5
    lft, r, t, b = w * 0.3, w * 0.7, h * 0.38, h * 0.84
    sc.shadow(cx + w * 0.03, b, (r - lft) * 0.6, h * 0.018, 0.35, w * 0.012)
    body = sc.coverage(
        lambda d, s: d.rounded_rectangle((lft * s, t * s, r * s, b * s), radius=int(w * 0.03 * s), fill=255)
    )
    gx = (sc.xx - lft) / (r - lft)
    facets = np.where(gx < 0.15, 0.75, np.where(gx > 0.85, 0.6, 1.0)).astype(np.float32)
    glass = sc.img * 0.35 + np.asarray((235, 190, 120), np.float32) * 0.65
    c = body[..., None]
    sc.img = sc.img * (1 - c) + glass * facets[..., None] * c
    sc.mask = sc.mask + body * (1 - sc.mask)
    _, hl = sc.cylinder_shade(cx, (r - lft) / 2, spec=0.7, spec_at=-0.6, spec_width=0.05)
    sc.img = sc.img + (255 - sc.img) * (np.clip(hl, 0, 1) * body)[..., None]
    label = sc.coverage(
        lambda d, s: d.rectangle(
            ((cx - w * 0.12) * s, (h * 0.55) * s, (cx + w * 0.12) * s, (h * 0.66) * s), fill=255
        )
    )
    sc.paint(label, (250, 248, 244), product=False)
    sc.text((cx, h * 0.595), "AMBRE", int(w * 0.04), (60, 50, 40))
    sc.text((cx, h * 0.635), "eau de parfum", int(w * 0.018), (60, 50, 40))
    collar = sc.lathe(cx, h * 0.33, t + 3, lambda tt: w * 0.07 + 0 * tt)
    cshade, chl = sc.cylinder_shade(cx, w * 0.07, spec=0.7)
    sc.paint(collar, (200, 160, 70), shade=cshade, highlight=chl)
    cap = sc.lathe(cx, h * 0.18, h * 0.335, lambda tt: w * 0.1 + 0 * tt)
    cshade, chl = sc.cylinder_shade(cx, w * 0.1, spec=0.45)
    sc.paint(cap, (25, 25, 25), shade=cshade, highlight=chl)
    return sc


def cream_jar(seed: int, w: int = 800, h: int = 600) -> Scene:
    """A small jar photographed too small: 800x600, under the 1000 px minimum."""
    sc = Scene(w, h, (255, 255, 255), seed, falloff=0.02)
    cx, y0, y1 = w * 0.5, h * 0.38, h * 0.8
    r = w * 0.2
    sc.shadow(cx + 10, y1, r * 1.15, h * 0.025, 0.3, w * 0.012)
    jar = sc.lathe(cx, y0, y1, lambda t: r + 0 * t)
    shade, hl = sc.cylinder_shade(cx, r)
    sc.paint(jar, (240, 236, 230), shade=shade, highlight=hl)
    lid = sc.lathe(cx, h * 0.25, y0 + 2, lambda t: r * 1.03 + 0 * t)
    lshade, lhl = sc.cylinder_shade(cx, r * 1.03, spec=0.6)
    sc.paint(lid, (185, 150, 90), shade=lshade, highlight=lhl)
    sc.text((cx, h * 0.6), "night cream", int(h * 0.05), (90, 80, 70))
    return sc


@dataclass(frozen=True)
class Example:
    filename: str
    sku: str
    category: str
    title: str
    render: Callable[[], Scene]
    quality: int = 84


EXAMPLES: list[Example] = [
    Example(
        "box_on_white.jpg",
        "PS-1001",
        "home",
        "Moving box, double wall, 40x30x30 cm",
        lambda: cardboard_box(1001),
    ),
    Example(
        "shampoo_bottle.jpg", "PS-1002", "", "Lavenda repair shampoo 400 ml", lambda: shampoo_bottle(1002)
    ),
    Example(
        "teal_glass_bottle.jpg",
        "PS-1003",
        "home",
        "Teal glass bottle with black cap, 750 ml",
        lambda: glass_bottle(1003),
    ),
    Example(
        "white_box_on_white.jpg",
        "PS-1004",
        "home",
        "Nordic ceramic set, gift box",
        lambda: cardboard_box(1004, white=True),
    ),
    Example(
        "chain_necklace.jpg",
        "PS-1005",
        "jewelry",
        "Gold-tone chain necklace with blue pendant",
        lambda: chain_necklace(1005),
    ),
    Example(
        "mug_with_handle.jpg", "PS-1006", "home", "Stoneware coffee mug, blue, 350 ml", lambda: mug(1006)
    ),
    Example("red_sneaker.jpg", "PS-1007", "", "Runner low-top sneaker, red", lambda: sneaker(1007)),
    Example("book.jpg", "PS-1008", "books", "The Quiet Harbour (hardback)", lambda: book(1008)),
    Example(
        "cosmetics_tube.jpg",
        "PS-1009",
        "cosmetics_tube",
        "Rose hand cream 75 ml",
        lambda: cosmetics_tube(1009),
    ),
    Example(
        "headphones.jpg",
        "PS-1010",
        "electronics",
        "Over-ear wired headphones, black",
        lambda: headphones(1010),
    ),
    Example(
        "vase_on_grey.jpg", "PS-1011", "home", "Green glazed ceramic vase, 30 cm", lambda: vase_on_grey(1011)
    ),
    Example("perfume_on_offwhite.jpg", "PS-1012", "", "Ambre eau de parfum 50 ml", lambda: perfume(1012)),
    Example(
        "white_mug_on_white.jpg",
        "PS-1013",
        "home",
        "Porcelain mug, white, 300 ml",
        lambda: mug(1013, colour=(246, 245, 243)),
    ),
    Example(
        "small_cream_jar.jpg",
        "PS-1014",
        "",
        "Night cream jar 50 ml (photo too small)",
        lambda: cream_jar(1014),
    ),
]
BROKEN = Example("broken.jpg", "PS-1015", "", "Broken upload (truncated JPEG)", lambda: cardboard_box(1015))


def encode_jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True, subsampling="4:2:0")
    return out.getvalue()


def main() -> None:
    (HERE / "masks").mkdir(exist_ok=True)
    rows = []
    for ex in [*EXAMPLES, BROKEN]:
        photo, mask = ex.render().finish()
        data = encode_jpeg(photo, ex.quality)
        if ex is BROKEN:
            # A real upload cut off mid-transfer: the first 30% of a valid JPEG.
            data = data[: int(len(data) * 0.3)]
        else:
            mask.save(HERE / "masks" / f"{Path(ex.filename).stem}.png", optimize=True)
        (HERE / ex.filename).write_bytes(data)
        rows.append((ex.filename, ex.sku, ex.category, ex.title))
        print(f"{ex.filename:28s} {photo.size[0]}x{photo.size[1]} {len(data) / 1024:6.0f} KB")
    with (HERE / "manifest.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("filename", "sku", "category", "title"))
        writer.writerows(rows)


if __name__ == "__main__":
    main()
