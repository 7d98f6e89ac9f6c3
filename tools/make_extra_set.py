#!/usr/bin/env python3
"""Build the packshot "extra" object set: real photographed objects with a person-cut alpha.

Every object is a file committed to a public repository (see ITEMS). The script reads it from a local
bare git mirror at the pinned commit, so the output is reproducible, and writes a devset-like folder:

    OUT/objects/NAME.png   RGBA, detached low-opacity specks removed, cropped to the alpha box plus a
                           2 % margin, downscaled (premultiplied Lanczos) to <= 1600 px on the long side
    OUT/index.csv          name,kind,category,light_product,thin_or_holes,source_repo,commit,path,licence
    OUT/LICENSES.md        per source: commit(s), paths, licence, copyright line

Usage (Python 3.11+, Pillow + numpy only):

    python tools/make_extra_set.py --mirrors MIRRORS --out ../extra
    python tools/make_extra_set.py --mirror owner/name=/path/to/bare.git ... --out ../extra

Then `PACKSHOT_EXTRA_DEVSETS=../extra make fit-gate eval` fits the gate on its fitting part as well and scores
its evaluation part as the set "extra" (eval/shared.py). Keep the output outside the repository: it is development
data under its sources' licences, never committed.

--mirrors is a folder holding one bare git directory per repository at OWNER+NAME/repo; --mirror overrides
single repositories.
"""

from __future__ import annotations

import argparse
import csv
import io
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

Image.MAX_IMAGE_PIXELS = None

MAX_SIDE = 1600
MARGIN = 0.02
# A detached component is a speck (dropped) when it is faint (its strongest pixel is below this alpha)...
SPECK_MAX_ALPHA = 160
# ...or tiny next to the object (fewer pixels than this share of all foreground pixels).
SPECK_AREA_SHARE = 2e-4


@dataclass(frozen=True)
class Source:
    repo: str
    licence: str
    licence_name: str
    copyright: str


@dataclass(frozen=True)
class Item:
    name: str
    category: str
    light: bool
    thin: bool
    repo: str
    commit: str
    path: str


SOURCES = {
    "deepin-community/tuxpaint-stamps": Source(
        "deepin-community/tuxpaint-stamps",
        "GPL-2.0-or-later",
        "GNU General Public License v2.0 or later (GPL-2.0-or-later), per debian/copyright and docs/COPYING.txt",
        "Copyright (c) 2002-2020 Bill Kendrick and the Tux Paint stamp contributors (docs/CONTRIBUTORS.txt); "
        "Debian packaging mirror by deepin-community",
    ),
    "smartstore/Smartstore": Source(
        "smartstore/Smartstore",
        "AGPL-3.0",
        "GNU Affero General Public License v3.0 (AGPL-3.0), LICENSE at the pinned commit",
        "Copyright (c) Smartstore AG; product images are manufacturer packshots shipped in Smartstore's "
        "sample catalogue (brands and designs belong to their owners)",
    ),
    "smartstore/SmartStoreNET": Source(
        "smartstore/SmartStoreNET",
        "GPL-3.0",
        "GNU General Public License v3.0 (GPL-3.0), LICENSE.txt at the pinned commits",
        "Copyright (c) SmartStore AG; product images are manufacturer packshots shipped in SmartStoreNET's "
        "sample catalogue (brands and designs belong to their owners)",
    ),
    "espressif/esp-dev-kits": Source(
        "espressif/esp-dev-kits",
        "CC-BY-SA-4.0",
        "Creative Commons Attribution-ShareAlike 4.0 International (CC BY-SA 4.0): README.md at the pinned "
        "commit puts all documentation content, images included, under LICENSE-CC-BY-SA (code: Apache-2.0)",
        "Copyright (c) Espressif Systems (Shanghai) Co. Ltd.; photographs from the esp-dev-kits documentation "
        "(docs/_static/). Changes made here: specks removed, cropped, downscaled",
    ),
    "espressif/esp-box": Source(
        "espressif/esp-box",
        "Apache-2.0",
        "Apache License 2.0 (LICENSE at the pinned commit; README: contents may be modified and distributed "
        "under Apache 2.0)",
        "Copyright (c) Espressif Systems (Shanghai) Co. Ltd.; photograph from the ESP-BOX disassembly guide",
    ),
    "espressif/esp-bsp": Source(
        "espressif/esp-bsp",
        "Apache-2.0",
        "Apache License 2.0 (bsp/esp32_s3_korvo_1/LICENSE at the pinned commit covers that component, doc/ "
        "included)",
        "Copyright (c) Espressif Systems (Shanghai) Co. Ltd.; board photograph from the ESP32-S3-Korvo-1 BSP docs",
    ),
}

# Upstream credits that Tux Paint's docs/CONTRIBUTORS.txt (at the pinned commit) gives for individual stamps;
# stamps without an entry fall under the package licence (debian/copyright: "Files: *", GPL-2+).
TUX_CREDITS = {
    "stamps/household/Lightbulb.png": "Wikimedia Commons Gluehlampe_01_KMJ.png, photograph by KMJ, alpha masking "
                                      "by Edokter; GFDL",
    "stamps/food/fruit/Apricot_whole.png": "Wikimedia Commons Apricot_whole444.jpg, photograph by Benjamint444; GFDL",
    "stamps/food/fruit/Cherry_Stella.png": "Wikimedia Commons Cherry_Stella444.jpg, photograph by Benjamint444; GFDL",
    "stamps/food/fruit/Strawberry2.png": "Wikimedia Commons Strawberry444.jpg, photograph by Benjamint444; GFDL",
    "stamps/town/monuments/inukshuk-photo.png": "photograph (c) 1996 Ansgar Walk (Wikipedia "
                                                "Inunnguaq_Rankin_Inlet_1996-07-18.jpg); CC BY-SA 2.5",
    "stamps/vehicles/garbagetruck.png": "Caroline Ford; GFDL (no invariant sections), CC BY-SA and GPL",
    "stamps/household/tools/cementmixer.png": "Caroline Ford; GFDL (no invariant sections), CC BY-SA and GPL",
    "stamps/vehicles/wheel_tractor.png": "Caroline Ford; GFDL (no invariant sections), CC BY-SA and GPL",
}

TUX = ("deepin-community/tuxpaint-stamps", "6e3b534047767c1b224317dc19ea54a87fc8f93f")
SS = ("smartstore/Smartstore", "087de664d084fdd73a83c400fa54763a8694c592")
SSN_2015A = ("smartstore/SmartStoreNET", "1d92d19207c71dc41a43d1f7772078f451a6eb9e")
SSN_2015B = ("smartstore/SmartStoreNET", "2f9f5f0840c1bfb0753dec56542f3fc73902c473")
SSN_2017 = ("smartstore/SmartStoreNET", "f604446593e9fd6a8b25466cfc16584aceac2f9e")
ESPK = ("espressif/esp-dev-kits", "f6f80ab668e1d0ec7f107497f563a2277a270b83")
ESPBOX = ("espressif/esp-box", "45df41c50ca3591324e4645c4183a1106811aaac")
ESPBSP = ("espressif/esp-bsp", "8ebe64a812baa13cc6b403133a0f2cbaa149c6af")
ESPK_DIR = "docs/_static/"
SS_DIR = "src/Smartstore.Web/App_Data/Samples/"
SSN_DIR = "src/Presentation/SmartStore.Web/Content/samples/"


def _items() -> list[Item]:
    rows: list[tuple[str, str, bool, bool, tuple[str, str], str]] = [
        # name, category, light, thin/holes, (repo, commit), path
        ("tuxpaint_clear-light-bulb", "household/light-bulb-clear-glass", True, False, TUX,
         "stamps/household/Lightbulb.png"),
        ("tuxpaint_cement-mixer", "tools/cement-mixer-frame", False, True, TUX,
         "stamps/household/tools/cementmixer.png"),
        ("tuxpaint_syringe", "medical/syringe-transparent-with-needle", True, True, TUX,
         "stamps/medical/syringe.png"),
        ("tuxpaint_boots-rifle-helmet", "objects/boots-rifle-helmet-memorial", False, True, TUX,
         "stamps/military/final-roll-call.png"),
        ("tuxpaint_hot-air-balloon", "vehicles/hot-air-balloon-basket-ropes", False, True, TUX,
         "stamps/vehicles/flight/balloon360.png"),
        ("tuxpaint_indy-race-car", "vehicles/race-car-wings", False, True, TUX,
         "stamps/vehicles/race/indycar.png"),
        ("tuxpaint_tractor-wheel", "vehicles/tractor-tyre-rim-holes", False, True, TUX,
         "stamps/vehicles/wheel_tractor.png"),
        ("tuxpaint_railroad-crossing-sign", "outdoor/sign-on-pole-with-lights", False, True, TUX,
         "stamps/town/roadsigns/railroad_crossing.png"),
        ("tuxpaint_inukshuk-stones", "outdoor/stacked-stones-with-gaps", False, True, TUX,
         "stamps/town/monuments/inukshuk-photo.png"),
        ("tuxpaint_garbage-truck", "vehicles/garbage-truck-white", True, False, TUX,
         "stamps/vehicles/garbagetruck.png"),
        ("tuxpaint_stryker-vehicle", "vehicles/wheeled-vehicle-antennas", False, True, TUX,
         "stamps/military/vehicles/infantry-stryker.png"),
        ("tuxpaint_apricot", "food/fruit-apricot", False, False, TUX, "stamps/food/fruit/Apricot_whole.png"),
        ("tuxpaint_cherries-with-stems", "food/fruit-cherries-thin-stems", False, True, TUX,
         "stamps/food/fruit/Cherry_Stella.png"),
        ("tuxpaint_strawberry-with-stem", "food/fruit-strawberry-stem", False, True, TUX,
         "stamps/food/fruit/Strawberry2.png"),
        ("tuxpaint_avocado", "food/fruit-avocado-dark", False, False, TUX, "stamps/food/fruit/avocado.png"),
        ("tuxpaint_cherimoya", "food/fruit-cherimoya", False, False, TUX, "stamps/food/fruit/cherimoya.png"),
        ("tuxpaint_seville-orange", "food/fruit-orange", False, False, TUX,
         "stamps/food/fruit/orange_seville.png"),
        ("tuxpaint_ginger-root", "food/ginger-root", False, False, TUX, "stamps/food/spices/ginger.png"),
        ("tuxpaint_lobster", "nature/lobster-thin-legs-antennae", False, True, TUX,
         "stamps/animals/fish/lobster.png"),
        # Espressif hardware photographs (boards with pin headers, mounting holes, cables, enclosures)
        ("esp_module-programmer-socket", "electronics/pcb-socket-with-pin-headers", False, True, ESPK,
         ESPK_DIR + "esp-module-prog-1-r/esp-module-prog-1.png"),
        ("esp_module-programmer-long-pins", "electronics/pcb-long-pin-rows", False, True, ESPK,
         ESPK_DIR + "esp-module-prog-sub-01&04/esp-module-prog-sub-0104.png"),
        ("esp_prog2-with-ribbon-cables", "electronics/pcb-with-thin-ribbon-cables", False, True, ESPK,
         ESPK_DIR + "esp-prog-2/esp-prog-2-package.png"),
        ("esp_prog2-board-headers", "electronics/pcb-box-headers", False, True, ESPK,
         ESPK_DIR + "esp-prog-2/esp-prog-2.png"),
        ("esp_sensor-shuttle-boards", "electronics/sensor-boards-with-mounting-holes", False, True, ESPK,
         ESPK_DIR + "esp-sensairshuttle/esp-sensairshuttle-board-isometric-v1_0.png"),
        ("esp_vocat-sphere-back", "electronics/round-device-speaker-holes", False, True, ESPK,
         ESPK_DIR + "esp-vocat/esp-vocat-black-back_v1.0.png"),
        ("esp_c3-devkit-pins", "electronics/devkit-pin-headers", False, True, ESPK,
         ESPK_DIR + "esp32-c3-devkitc-02/esp32-c3-devkitc-02-v1-isometric.png"),
        ("esp_c3-round-display-board", "electronics/display-board-mounting-holes", False, True, ESPK,
         ESPK_DIR + "esp32-c3-lcd-ev-board/esp32-c3-lcd-ev-board-isometric-raw.png"),
        ("esp_c3-lcdkit-knob", "electronics/knob-display-board-holes", False, True, ESPK,
         ESPK_DIR + "esp32-c3-lcdkit/esp32-c3-lcdkit-isometric-raw.png"),
        ("esp_c3-lcdkit-back", "electronics/flat-pcb-corner-holes", False, True, ESPK,
         ESPK_DIR + "esp32-c3-lcdkit/esp32-c3-lcdkit-main-back.png"),
        ("esp_c5-devkit-pins", "electronics/devkit-pin-headers", False, True, ESPK,
         ESPK_DIR + "esp32-c5-devkitc-1/esp32-c5-devkitc-1-isometric_v1.1.png"),
        ("esp_ethernet-kit", "electronics/pcb-rj45-mounting-holes", False, True, ESPK,
         ESPK_DIR + "esp32-ethernet-kit/esp32-ethernet-kit-v1.2-overview.png"),
        ("esp_p4-eye-camera-front", "electronics/camera-device-with-lens", False, False, ESPK,
         ESPK_DIR + "esp32-p4-eye/esp32-p4-eye-isometric.png"),
        ("esp_p4-eye-camera-back", "electronics/camera-device-screen", False, False, ESPK,
         ESPK_DIR + "esp32-p4-eye/pic_product_esp32_p4_eye_back.png"),
        ("esp_p4-function-board", "electronics/large-pcb-ports-holes", False, True, ESPK,
         ESPK_DIR + "esp32-p4-function-ev-board/esp32-p4-function-ev-board-isometric_v1.4.png"),
        ("esp_p4x-function-board", "electronics/large-pcb-pin-header", False, True, ESPK,
         ESPK_DIR + "esp32-p4x-c5-function-ev-board/esp32-p4x-c5-function-ev-board-isometric.png"),
        ("esp_pico-kit-pins", "electronics/devkit-pin-headers", False, True, ESPK,
         ESPK_DIR + "esp32-pico-kit-1/esp32-pico-kit-1-overview.png"),
        ("esp_hmi-kit-translucent-box", "packaging/translucent-plastic-box", True, False, ESPK,
         ESPK_DIR + "esp32-s2-hmi-devkit-1/esp32-s2-hmi-devkit-1-pacakge-v1.0.png"),
        ("esp_kaluga-display-touch-set", "electronics/boards-with-flex-cable", False, True, ESPK,
         ESPK_DIR + "esp32-s2-kaluga-1/ESP32-S2-Kaluga-1.png"),
        ("esp_touch-motherboard", "electronics/pcb-headers-holes", False, True, ESPK,
         ESPK_DIR + "esp32-s2-touch-devkit-1/motherboard.png"),
        ("esp_lcd-ev-board", "electronics/display-board-mounting-holes", False, True, ESPK,
         ESPK_DIR + "esp32-s3-lcd-ev-board/ESP32-S3-LCD-EV-Board_800x480.png"),
        ("esp_lcd-sub-board-standoffs", "electronics/pcb-standoffs-holes", False, True, ESPK,
         ESPK_DIR + "esp32-s3-lcd-ev-board/esp32-s3-lcd-ev-board-sub2-v1.4-back.png"),
        ("esp_usb-bridge-back-pins", "electronics/small-pcb-pins", False, True, ESPK,
         ESPK_DIR + "esp32-s3-usb-bridge/esp32-s3-usb-bridge-back.png"),
        ("esp_usb-bridge-usb-a", "electronics/usb-plug-pcb-pins", False, True, ESPK,
         ESPK_DIR + "esp32-s3-usb-bridge/esp32-s3-usb-bridge-typea.png"),
        ("esp_usb-otg-battery-board", "electronics/pcb-with-battery", False, False, ESPK,
         ESPK_DIR + "esp32-s3-usb-otg/pic_board_battery.png"),
        ("esp_usb-otg-retail-box", "packaging/retail-box-white", True, False, ESPK,
         ESPK_DIR + "esp32-s3-usb-otg/pic_product_package.png"),
        ("esp_s31-korvo-display-board", "electronics/display-board-isometric", False, False, ESPK,
         ESPK_DIR + "esp32-s31-korvo-1/esp32-s31-korvo-1-isometric.png"),
        ("esp_8684-devkit-pins", "electronics/devkit-pin-headers", False, True, ESPK,
         ESPK_DIR + "esp8684-devkitc-02/esp8684-devkitc-02-v1.0-isometric.png"),
        ("espbox_white-back-cover", "electronics/white-plastic-cover-keyholes", True, True, ESPBOX,
         "docs/_static/disassembly_pictures_v2/figure_10.png"),
        ("espbsp_round-mic-array-board", "electronics/round-board-leds-buttons", False, False, ESPBSP,
         "bsp/esp32_s3_korvo_1/doc/esp32_s3_korvo_1.webp"),
        ("smartstore_wiiu-accessories-set", "electronics/console-games-accessories-cable", False, True, SS,
         SS_DIR + "category/gaming_accessories.png"),
        ("smartstore_ps3-console-and-game", "electronics/game-console-glossy-black", False, False, SS,
         SS_DIR + "product/sony_ps3_plus_game.png"),
        ("smartstore_white-football-tango", "sports/football-white", True, False, SS,
         SS_DIR + "product/adidas-tango-pasadena-ball-white.png"),
        ("smartstore_white-football-bundesliga", "sports/football-white", True, False, SS,
         SS_DIR + "product/torfabrik-offizieller-spielball_white.png"),
        ("smartstore_basketball", "sports/basketball", False, False, SS,
         SS_DIR + "product/all-court-basketball.png"),
        ("smartstorenet_dualshock3-controller", "electronics/game-controller-black", False, False, SSN_2015A,
         SSN_DIR + "product_playstation3dualshock3.png"),
        ("smartstorenet_ps3-bundle", "electronics/console-controller-game-box", False, False, SSN_2015B,
         SSN_DIR + "sony-PS3AssassinsCreedBundle.png"),
    ]
    return [Item(n, c, light, thin, src[0], src[1], p) for n, c, light, thin, src, p in rows]


ITEMS = _items()


# ----------------------------------------------------------------------------------------- reading

def fix_png(data: bytes) -> bytes:
    """Drop ancillary PNG chunks whose CRC is wrong (one demo file carries a broken iCCP chunk)."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data
    out = [data[:8]]
    p = 8
    while p + 12 <= len(data):
        (n,) = struct.unpack(">I", data[p:p + 4])
        if p + 12 + n > len(data):
            out.append(data[p:])
            break
        kind = data[p + 4:p + 8]
        (crc,) = struct.unpack(">I", data[p + 8 + n:p + 12 + n])
        if zlib.crc32(data[p + 4:p + 8 + n]) & 0xFFFFFFFF == crc or kind[:1].isupper():
            out.append(data[p:p + 12 + n])
        p += 12 + n
        if kind == b"IEND":
            break
    return b"".join(out)


def read_blob(gitdir: Path, commit: str, path: str) -> bytes:
    res = subprocess.run(["git", "--git-dir", str(gitdir), "show", f"{commit}:{path}"],
                         capture_output=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"cannot read {commit}:{path} from {gitdir}: {res.stderr.decode().strip()}")
    return res.stdout


def load_rgba(data: bytes) -> np.ndarray:
    im = Image.open(io.BytesIO(fix_png(data)))
    im.load()
    return np.asarray(im.convert("RGBA")).copy()


# ------------------------------------------------------------------------------ speck removal

def label_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected component labels of a boolean mask (run-length union-find; numpy only)."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    d = np.diff(padded, axis=1)
    rows_s, cols_s = np.nonzero(d == 1)
    rows_e, cols_e = np.nonzero(d == -1)  # exclusive end
    n = len(rows_s)
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    row_start = np.searchsorted(rows_s, np.arange(h + 1))
    for y in range(1, h):
        a0, a1 = row_start[y - 1], row_start[y]
        b0, b1 = row_start[y], row_start[y + 1]
        i, j = a0, b0
        while i < a1 and j < b1:
            # 8-connectivity: runs touch if [s-1, e] overlaps
            if cols_s[i] <= cols_e[j] and cols_s[j] <= cols_e[i]:
                ri, rj = find(i), find(j)
                if ri != rj:
                    parent[ri] = rj
            if cols_e[i] < cols_e[j]:
                i += 1
            else:
                j += 1
    roots = np.array([find(k) for k in range(n)], dtype=np.int64)
    uniq, comp = np.unique(roots, return_inverse=True)
    labels = np.zeros((h, w), dtype=np.int32)
    for k in range(n):
        labels[rows_s[k], cols_s[k]:cols_e[k]] = comp[k] + 1
    return labels, len(uniq)


def remove_specks(rgba: np.ndarray) -> tuple[np.ndarray, int]:
    alpha = rgba[..., 3]
    labels, n = label_components(alpha > 0)
    if n <= 1:
        return rgba, 0
    flat = labels.ravel()
    area = np.bincount(flat, minlength=n + 1)
    peak = np.zeros(n + 1, dtype=np.int32)
    np.maximum.at(peak, flat, alpha.ravel().astype(np.int32))
    total = area[1:].sum()
    drop = np.zeros(n + 1, dtype=bool)
    drop[1:] = (peak[1:] < SPECK_MAX_ALPHA) | (area[1:] < SPECK_AREA_SHARE * total)
    drop[int(np.argmax(area[1:])) + 1] = False  # never drop the main body
    out = rgba.copy()
    out[drop[labels]] = 0
    return out, int(drop.sum())


# ---------------------------------------------------------------------------- crop + downscale

def crop_with_margin(rgba: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(rgba[..., 3])
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    m = int(round(MARGIN * max(y1 - y0, x1 - x0)))
    h, w = y1 - y0 + 2 * m, x1 - x0 + 2 * m
    out = np.zeros((h, w, 4), dtype=np.uint8)
    out[m:m + y1 - y0, m:m + x1 - x0] = rgba[y0:y1, x0:x1]
    return out


def downscale(rgba: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    h, w = rgba.shape[:2]
    s = max_side / max(h, w)
    if s >= 1:
        return rgba
    size = (max(1, round(w * s)), max(1, round(h * s)))
    a = rgba[..., 3].astype(np.float32) / 255.0
    chans = []
    for c in range(3):
        pm = rgba[..., c].astype(np.float32) * a
        chans.append(np.asarray(Image.fromarray(pm, "F").resize(size, Image.Resampling.LANCZOS)))
    a2 = np.asarray(Image.fromarray(a * 255.0, "F").resize(size, Image.Resampling.LANCZOS))
    a2 = np.clip(a2, 0, 255)
    out = np.zeros((size[1], size[0], 4), dtype=np.uint8)
    safe = np.where(a2 > 0.5, a2 / 255.0, 1.0)
    for c in range(3):
        out[..., c] = np.clip(np.where(a2 > 0.5, chans[c] / safe, 0), 0, 255).round().astype(np.uint8)
    out[..., 3] = a2.round().astype(np.uint8)
    return out


def process(data: bytes) -> tuple[np.ndarray, int]:
    rgba = load_rgba(data)
    rgba[rgba[..., 3] == 0, :3] = 0
    rgba, dropped = remove_specks(rgba)
    return downscale(crop_with_margin(rgba)), dropped


# ----------------------------------------------------------------------------------------- output

def mirror_dir(repo: str, root: Path | None, overrides: dict[str, Path]) -> Path:
    if repo in overrides:
        return overrides[repo]
    if root is None:
        raise SystemExit(f"no mirror given for {repo}")
    return root / repo.replace("/", "+") / "repo"


def write_licences(out: Path, items: list[Item]) -> None:
    lines = [
        "# Licences of the extra-set sources",
        "",
        "Every image in objects/ is derived (removal of detached low-opacity specks, crop to the alpha box",
        "plus 2 %, premultiplied Lanczos downscale to <= 1600 px) from a file committed to the public",
        "repository named below, under that repository's licence. Use: test / evaluation / calibration /",
        "training data for packshot's cutout and QC gate only; never put these images, or anything derived",
        "from them, into exports, demo deliveries or docs. Brand names, logos and product designs visible in",
        "the pictures belong to their owners.",
        "",
    ]
    for repo, src in SOURCES.items():
        mine = [it for it in items if it.repo == repo]
        if not mine:
            continue
        lines.append(f"## {repo} ({len(mine)} items)")
        for commit in sorted({it.commit for it in mine}):
            lines.append(f"- commit: {commit}")
            for it in mine:
                if it.commit == commit:
                    credit = TUX_CREDITS.get(it.path) if repo == TUX[0] else None
                    lines.append(f"  - {it.path} -> objects/{it.name}.png" + (f" ({credit})" if credit else ""))
        lines.append(f"- licence: {src.licence_name}")
        lines.append(f"- copyright: {src.copyright}")
        lines.append("")
    lines += [
        "## Not used",
        "- Reserved for independent testing: any DIS5K / DIS-TR / DIS-VD / DIS-TE copy, saleor/*,",
        "  solidusio/*, spree/*.",
        "- Skipped for licence: alphamatting.com ground truths, research-only / non-commercial sets.",
        "",
    ]
    (out / "LICENSES.md").write_text("\n".join(lines))


def write_readme(out: Path, items: list[Item]) -> None:
    by_repo: dict[str, int] = {}
    for it in items:
        by_repo[it.repo] = by_repo.get(it.repo, 0) + 1
    srcs = ", ".join(f"{r} ({n})" for r, n in by_repo.items())
    text = f"""# packshot extra set: real object cutouts with a person-cut alpha (DEVELOPMENT data)

{len(items)} RGBA cutouts of photographed objects (objects/NAME.png), each alpha cut by a person for a
shop catalogue, a hardware manual or a clip-art collection, not a model's output. Complements the devset
(mostly cosmetics) with thin parts and holes (pin headers, ribbon cables, stems, ropes, antennae, mounting
holes: {sum(it.thin for it in items)} items) and light/white products ({sum(it.light for it in items)} items).
index.csv has the devset's columns (category, light_product, thin_or_holes, source, commit, path, licence).

Built by make_extra_set.py from pinned commits of: {srcs}. Detached faint or tiny components are removed,
each object is cropped to its alpha box plus a 2 % margin and downscaled (premultiplied Lanczos) to
<= {MAX_SIDE} px. Items whose shadow or reflection is fused into the alpha, renders, annotated photos and
hard-edged (1-bit) cuts were left out by inspection.

Use it like the devset: composite onto backdrops and score against the exact alpha. Development data only:
never put these images, or anything derived from them, into exports, demo deliveries or docs. Licences and
attributions (CC BY-SA / GFDL items need attribution and share-alike) are in LICENSES.md.
"""
    (out / "README.md").write_text(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirrors", type=Path, help="folder with OWNER+NAME/repo bare git mirrors")
    ap.add_argument("--mirror", action="append", default=[], metavar="OWNER/NAME=GITDIR",
                    help="bare git dir for one repository (overrides --mirrors)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--only", nargs="*", help="build only these item names")
    args = ap.parse_args(argv)
    overrides = {}
    for spec in args.mirror:
        repo, _, d = spec.partition("=")
        overrides[repo] = Path(d)
    items = [it for it in ITEMS if not args.only or it.name in args.only]
    names = [it.name for it in items]
    if len(set(names)) != len(names):
        raise SystemExit("duplicate item names")
    objdir = args.out / "objects"
    objdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for it in items:
        data = read_blob(mirror_dir(it.repo, args.mirrors, overrides), it.commit, it.path)
        rgba, dropped = process(data)
        Image.fromarray(rgba, "RGBA").save(objdir / f"{it.name}.png", optimize=True)
        a = rgba[..., 3]
        print(f"{it.name:42s} {rgba.shape[1]:5d}x{rgba.shape[0]:<5d} specks={dropped:3d} "
              f"edge={(((a > 0) & (a < 255)).sum() / max(1, (a > 0).sum())):.3f}", flush=True)
        rows.append([it.name, "object", it.category, "yes" if it.light else "no", "yes" if it.thin else "no",
                     it.repo, it.commit, it.path, SOURCES[it.repo].licence])
    with open(args.out / "index.csv", "w", newline="") as fh:
        wr = csv.writer(fh, lineterminator="\n")
        wr.writerow(["name", "kind", "category", "light_product", "thin_or_holes", "source_repo", "commit",
                     "path", "licence"])
        wr.writerows(rows)
    write_licences(args.out, items)
    write_readme(args.out, items)
    print(f"{len(rows)} objects -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
