"""Procedural products with thin parts and holes: benches, racks, nets, trampolines, ladders, chairs, lamps, rings.

Each is drawn at twice its size and reduced, so its alpha is the exact coverage of its parts; the colour is a
material (wood with grain, painted or chromed metal, white or pastel plastic) lit from one side. eval.studio then
puts it on a studio backdrop with contact and cast shadows (darker backdrop, never part of the truth), noise and
JPEG, like the real cutouts. What the stage must learn from them: backdrop seen between slats, through a grid or a
net, inside a ring or handle is backdrop, at any scale; a white frame on a white sweep is still product.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

KINDS = ("bench", "rack", "net", "trampoline", "ladder", "chair", "lamp", "ring", "basket", "stool")

Canvas = tuple[Image.Image, ImageDraw.ImageDraw, float]  # (L image, its draw, supersampling scale)


def _material(rng: np.random.Generator) -> tuple[np.ndarray, str, bool]:
    """(RGB base colour, material, light) with white and light materials a third of the time."""
    pick = rng.random()
    if pick < 0.2:
        level = rng.uniform(225, 252)
        return np.array([level, level, level - rng.uniform(0, 6)]), "white", True
    if pick < 0.33:
        base = rng.uniform(200, 240)
        hue = rng.random()
        rgb = np.array([0.5 + 0.5 * math.cos(2 * math.pi * (hue + k / 3)) for k in range(3)]) * 0.25 + 0.75
        return rgb * base, "pastel", True
    if pick < 0.55:
        return np.array([rng.uniform(120, 190), rng.uniform(75, 130), rng.uniform(35, 80)]), "wood", False
    if pick < 0.75:
        level = rng.uniform(15, 70)
        return np.array([level, level, level + rng.uniform(0, 8)]), "black", False
    if pick < 0.87:
        level = rng.uniform(140, 200)
        return np.array([level, level, level + rng.uniform(0, 10)]), "metal", False
    hue = rng.random()
    sat = rng.uniform(0.4, 0.9)
    rgb = np.array([0.5 + 0.5 * math.cos(2 * math.pi * (hue + k / 3)) for k in range(3)]) * sat + (1 - sat)
    return rgb * rng.uniform(90, 220), "painted", False


def _canvas(width: int, height: int) -> Canvas:
    image = Image.new("L", (2 * width, 2 * height), 0)
    return image, ImageDraw.Draw(image), 2.0


def _rect(c: Canvas, x0: float, y0: float, x1: float, y1: float, radius: float = 0.0) -> None:
    s = c[2]
    box = (x0 * s, y0 * s, x1 * s, y1 * s)
    if radius > 0:
        c[1].rounded_rectangle(box, radius=radius * s, fill=255)
    else:
        c[1].rectangle(box, fill=255)


def _line(c: Canvas, x0: float, y0: float, x1: float, y1: float, width: float) -> None:
    s = c[2]
    c[1].line((x0 * s, y0 * s, x1 * s, y1 * s), fill=255, width=max(1, round(width * s)))


def _ellipse(c: Canvas, cx: float, cy: float, rx: float, ry: float, width: float | None = None) -> None:
    s = c[2]
    box = ((cx - rx) * s, (cy - ry) * s, (cx + rx) * s, (cy + ry) * s)
    if width is None:
        c[1].ellipse(box, fill=255)
    else:
        c[1].ellipse(box, outline=255, width=max(1, round(width * s)))


def _bench(c: Canvas, w: int, h: int, rng: np.random.Generator) -> None:
    slats = int(rng.integers(3, 7))
    seat_top, seat_bottom = h * rng.uniform(0.35, 0.5), h * rng.uniform(0.55, 0.65)
    pitch = (seat_bottom - seat_top) / slats
    gap = pitch * rng.uniform(0.2, 0.5)
    for k in range(slats):
        _rect(c, 0.04 * w, seat_top + k * pitch, 0.96 * w, seat_top + (k + 1) * pitch - gap, radius=gap * 0.3)
    if rng.random() < 0.7:  # a backrest of horizontal slats
        rows = int(rng.integers(2, 5))
        back_pitch = (seat_top - 0.05 * h) / rows
        back_gap = back_pitch * rng.uniform(0.3, 0.6)
        for k in range(rows):
            _rect(c, 0.06 * w, 0.05 * h + k * back_pitch, 0.94 * w, 0.05 * h + (k + 1) * back_pitch - back_gap)
        for x in (0.1 * w, 0.9 * w):
            _rect(c, x - 0.015 * w, 0.04 * h, x + 0.015 * w, seat_top)
    leg = rng.uniform(0.015, 0.04) * w
    for x in (0.1 * w, 0.9 * w, 0.3 * w, 0.7 * w)[: int(rng.choice([2, 4]))]:
        _rect(c, x - leg, seat_bottom, x + leg, 0.98 * h)
    if rng.random() < 0.5:
        _line(c, 0.1 * w, 0.85 * h, 0.9 * w, 0.85 * h, leg * 0.7)


def _rack(c: Canvas, w: int, h: int, rng: np.random.Generator) -> None:
    bar = rng.uniform(0.004, 0.015) * w
    frame = bar * rng.uniform(1.5, 3)
    _rect(c, 0.05 * w, 0.03 * h, 0.05 * w + frame, 0.97 * h)
    _rect(c, 0.95 * w - frame, 0.03 * h, 0.95 * w, 0.97 * h)
    shelves = int(rng.integers(2, 6))
    for k in range(shelves):
        y = 0.08 * h + k * (0.85 * h / max(1, shelves - 1))
        _rect(c, 0.05 * w, y - frame / 2, 0.95 * w, y + frame / 2)
    verticals = int(rng.integers(6, 25))
    for k in range(verticals):
        x = 0.05 * w + (k + 1) * 0.9 * w / (verticals + 1)
        _line(c, x, 0.08 * h, x, 0.08 * h + 0.85 * h, bar)
    if rng.random() < 0.5:  # hooks or a grid
        for k in range(int(rng.integers(3, 12))):
            y = 0.08 * h + (k + 0.5) * 0.85 * h / 12
            _line(c, 0.05 * w, y, 0.95 * w, y, bar * 0.8)


def _net(c: Canvas, w: int, h: int, rng: np.random.Generator) -> None:
    cell = rng.uniform(0.025, 0.08) * w
    strand = rng.uniform(0.08, 0.25) * cell
    angle = rng.choice([0.0, math.pi / 4])
    diag = math.hypot(w, h)
    mesh = Image.new("L", c[0].size, 0)
    draw = ImageDraw.Draw(mesh)
    s = c[2]
    for sign in (-1, 1):
        theta = angle + (math.pi / 2 if sign > 0 else 0.0)
        dx, dy = math.cos(theta), math.sin(theta)
        for k in range(-int(diag / cell), int(diag / cell) + 1):
            ox, oy = w / 2 + k * cell * -dy, h / 2 + k * cell * dx
            draw.line(((ox - dx * diag) * s, (oy - dy * diag) * s, (ox + dx * diag) * s, (oy + dy * diag) * s),
                      fill=255, width=max(1, round(strand * s)))
    shape = Image.new("L", c[0].size, 0)
    frame = rng.uniform(0.01, 0.03) * w
    if rng.random() < 0.5:  # a goal or a hammock frame: a rectangle
        ImageDraw.Draw(shape).rectangle((0.05 * w * s, 0.05 * h * s, 0.95 * w * s, 0.95 * h * s), fill=255)
        c[0].paste(255, mask=Image.composite(mesh, Image.new("L", mesh.size, 0), shape))
        for x0, y0, x1, y1 in ((0.05, 0.05, 0.95, 0.05), (0.05, 0.05, 0.05, 0.95), (0.95, 0.05, 0.95, 0.95)):
            _line(c, x0 * w, y0 * h, x1 * w, y1 * h, frame)
    else:  # a round net: a hoop
        ImageDraw.Draw(shape).ellipse((0.05 * w * s, 0.05 * h * s, 0.95 * w * s, 0.95 * h * s), fill=255)
        c[0].paste(255, mask=Image.composite(mesh, Image.new("L", mesh.size, 0), shape))
        _ellipse(c, w / 2, h / 2, 0.45 * w, 0.45 * h, frame)


def _trampoline(c: Canvas, w: int, h: int, rng: np.random.Generator) -> None:
    cx, cy, rx, ry = w / 2, 0.45 * h, 0.44 * w, rng.uniform(0.08, 0.16) * h
    _ellipse(c, cx, cy, rx, ry)  # the mat, seen from the side and above
    pad = rng.uniform(0.01, 0.03) * w
    _ellipse(c, cx, cy, rx + pad, ry + pad, pad)
    legs = int(rng.integers(3, 7))
    leg = rng.uniform(0.008, 0.02) * w
    for k in range(legs):
        x = cx - rx * 0.95 + k * (1.9 * rx / max(1, legs - 1))
        _line(c, x, cy + ry * 0.5, x + rng.uniform(-0.03, 0.03) * w, 0.97 * h, leg)
        _line(c, x - 0.03 * w, 0.97 * h, x + 0.03 * w, 0.97 * h, leg)
    if rng.random() < 0.7:  # an enclosure: poles and a net above the mat
        top = rng.uniform(0.04, 0.15) * h
        for k in range(legs):
            x = cx - rx * 0.95 + k * (1.9 * rx / max(1, legs - 1))
            _line(c, x, cy, x, top, leg * 0.8)
        cell = rng.uniform(0.02, 0.05) * w
        for k in range(int(2 * rx / cell)):
            x = cx - rx + k * cell
            _line(c, x, top, x, cy, max(0.6, 0.06 * cell))
        for k in range(int((cy - top) / cell)):
            y = top + k * cell
            _line(c, cx - rx, y, cx + rx, y, max(0.6, 0.06 * cell))
        _line(c, cx - rx, top, cx + rx, top, leg)


def _ladder(c: Canvas, w: int, h: int, rng: np.random.Generator) -> None:
    rail = rng.uniform(0.03, 0.07) * w
    left, right = 0.3 * w, 0.7 * w
    spread = rng.uniform(0.0, 0.1) * w
    _line(c, left, 0.02 * h, left - spread, 0.98 * h, rail)
    _line(c, right, 0.02 * h, right + spread, 0.98 * h, rail)
    rungs = int(rng.integers(4, 11))
    for k in range(rungs):
        t = (k + 0.5) / rungs
        y = 0.02 * h + t * 0.96 * h
        _line(c, left - spread * t, y, right + spread * t, y, rail * rng.uniform(0.4, 0.8))


def _chair(c: Canvas, w: int, h: int, rng: np.random.Generator) -> None:
    seat_y = h * rng.uniform(0.45, 0.6)
    thick = rng.uniform(0.03, 0.06) * h
    _rect(c, 0.15 * w, seat_y, 0.85 * w, seat_y + thick, radius=thick * 0.3)
    leg = rng.uniform(0.02, 0.045) * w
    for x in (0.18 * w, 0.82 * w, 0.3 * w, 0.7 * w):
        _line(c, x, seat_y + thick, x + (x - w / 2) * 0.08, 0.98 * h, leg)
    _line(c, 0.2 * w, seat_y + 0.25 * (h - seat_y), 0.8 * w, seat_y + 0.25 * (h - seat_y), leg * 0.6)
    _line(c, 0.18 * w, seat_y, 0.18 * w, 0.04 * h, leg * 1.2)
    _line(c, 0.82 * w, seat_y, 0.82 * w, 0.04 * h, leg * 1.2)
    _rect(c, 0.17 * w, 0.04 * h, 0.83 * w, 0.04 * h + rng.uniform(0.04, 0.1) * h, radius=5)
    spindles = int(rng.integers(0, 7))
    for k in range(spindles):
        x = 0.18 * w + (k + 1) * 0.64 * w / (spindles + 1)
        _line(c, x, 0.1 * h, x, seat_y, leg * 0.6)


def _lamp(c: Canvas, w: int, h: int, rng: np.random.Generator) -> None:
    _ellipse(c, w / 2, 0.95 * h, rng.uniform(0.15, 0.3) * w, 0.03 * h)
    pole = rng.uniform(0.008, 0.025) * w
    joint_x, joint_y = w * rng.uniform(0.3, 0.7), h * rng.uniform(0.3, 0.55)
    _line(c, w / 2, 0.95 * h, w / 2, joint_y if rng.random() < 0.5 else 0.3 * h, pole)
    _line(c, w / 2, joint_y, joint_x, 0.2 * h, pole)
    shade_w = rng.uniform(0.15, 0.3) * w
    top, bottom = 0.04 * h, 0.04 * h + rng.uniform(0.12, 0.2) * h
    s = c[2]
    c[1].polygon([((joint_x - shade_w * 0.4) * s, top * s), ((joint_x + shade_w * 0.4) * s, top * s),
                  ((joint_x + shade_w * 0.7) * s, bottom * s), ((joint_x - shade_w * 0.7) * s, bottom * s)], fill=255)
    _line(c, joint_x, bottom, joint_x, 0.2 * h, pole)


def _ring(c: Canvas, w: int, h: int, rng: np.random.Generator) -> None:
    band = rng.uniform(0.04, 0.15) * w
    _ellipse(c, w / 2, h / 2, 0.46 * w, 0.46 * h * rng.uniform(0.6, 1.0), band)
    if rng.random() < 0.5:  # a handle or a strap loop at the side
        _ellipse(c, 0.85 * w, h / 2, 0.12 * w, 0.2 * h, band * 0.6)


def _basket(c: Canvas, w: int, h: int, rng: np.random.Generator) -> None:
    s = c[2]
    top_w, bottom_w = 0.45 * w, rng.uniform(0.3, 0.45) * w
    outline = [((w / 2 - top_w) * s, 0.25 * h * s), ((w / 2 + top_w) * s, 0.25 * h * s),
               ((w / 2 + bottom_w) * s, 0.95 * h * s), ((w / 2 - bottom_w) * s, 0.95 * h * s)]
    body = Image.new("L", c[0].size, 0)
    ImageDraw.Draw(body).polygon(outline, fill=255)
    holes = Image.new("L", c[0].size, 0)
    draw = ImageDraw.Draw(holes)
    cell = rng.uniform(0.04, 0.09) * w
    hole = cell * rng.uniform(0.4, 0.75)
    for y in np.arange(0.3 * h, 0.9 * h, cell):
        for x in np.arange(0.0, w, cell):
            draw.rectangle((x * s, y * s, (x + hole) * s, (y + hole * rng.uniform(0.6, 1.4)) * s), fill=255)
    c[0].paste(Image.composite(Image.new("L", body.size, 0), body, holes), mask=body)
    _ellipse(c, w / 2, 0.25 * h, top_w, 0.2 * h, rng.uniform(0.02, 0.04) * w)  # the handle


def _stool(c: Canvas, w: int, h: int, rng: np.random.Generator) -> None:
    _ellipse(c, w / 2, 0.12 * h, 0.35 * w, 0.06 * h)
    leg = rng.uniform(0.02, 0.05) * w
    for x0, x1 in ((0.25, 0.1), (0.75, 0.9), (0.45, 0.4), (0.55, 0.6)):
        _line(c, x0 * w, 0.15 * h, x1 * w, 0.98 * h, leg)
    for y in (0.55, 0.8)[: int(rng.integers(1, 3))]:
        _ellipse(c, w / 2, y * h, (0.18 + 0.25 * y) * w, 0.04 * h, leg * 0.6)


DRAW = {"bench": _bench, "rack": _rack, "net": _net, "trampoline": _trampoline, "ladder": _ladder,
        "chair": _chair, "lamp": _lamp, "ring": _ring, "basket": _basket, "stool": _stool}


def _texture(alpha: np.ndarray, base: np.ndarray, material: str, rng: np.random.Generator) -> np.ndarray:
    """The material's colour on the shape: lit from one side, with grain for wood and highlights for metal."""
    height, width = alpha.shape
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * math.pi)
    slope = (xx / width - 0.5) * math.cos(angle) + (yy / height - 0.5) * math.sin(angle)
    light = 1.0 + rng.uniform(0.05, 0.2) * slope
    colour = base[None, None, :] * light[..., None]
    if material == "wood":
        grain = np.sin(xx / width * rng.uniform(40, 120) + np.sin(yy / height * 7.0) * 2.0)
        colour *= (1.0 + 0.08 * grain)[..., None]
    if material in ("metal", "white"):
        stripe = np.exp(-(((xx + yy) / (width + height) - rng.uniform(0.2, 0.8)) / 0.05) ** 2)
        colour += (rng.uniform(10, 40) * stripe)[..., None]
    # Edges of each part a little darker: the rounding of a slat or a tube.
    soft = np.asarray(Image.fromarray((alpha * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(2)),
                      np.float32) / 255.0
    colour *= (0.85 + 0.15 * soft)[..., None]
    colour += rng.normal(0, 2.0, colour.shape)
    return np.clip(colour, 0, 255)


def draw_product(kind: str, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """(RGBA uint8 product cropped to its alpha box, light product?) for one procedural kind."""
    width = int(rng.integers(500, 900))
    height = int(width * rng.uniform(0.6, 1.4))
    canvas = _canvas(width, height)
    DRAW[kind](canvas, width, height, rng)
    alpha = np.asarray(canvas[0].reduce(2), np.float32) / 255.0
    base, material, light = _material(rng)
    rgb = _texture(alpha, base, material, rng)
    rows = np.flatnonzero(alpha.max(axis=1) > 0)
    cols = np.flatnonzero(alpha.max(axis=0) > 0)
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    rgba = np.dstack([rgb, alpha * 255.0])[top:bottom, left:right]
    return np.round(rgba).astype(np.uint8), light
