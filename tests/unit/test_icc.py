"""The ICC profiles packshot embeds: the same bytes in every run."""

from __future__ import annotations

import io
import subprocess
import sys
import time

from PIL import ImageCms

from packshot.imaging.icc import adobe_rgb_1998_profile, srgb_profile

SCRIPT = ("import hashlib; from packshot.imaging.icc import srgb_profile, adobe_rgb_1998_profile;"
          " print(hashlib.sha256(srgb_profile() + adobe_rgb_1998_profile()).hexdigest())")


def test_the_embedded_profiles_are_the_same_bytes_in_every_process() -> None:
    # LittleCMS stamps its build time into the header: without a fixed date the same image exported a second later
    # was another file with another sha256 (delivery records and re-runs could not match them).
    first = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stdout
    time.sleep(1.1)
    second = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stdout
    assert first == second and len(first.strip()) == 64


def test_the_fixed_date_leaves_profiles_that_colour_engines_load() -> None:
    srgb = ImageCms.ImageCmsProfile(io.BytesIO(srgb_profile()))
    adobe = ImageCms.ImageCmsProfile(io.BytesIO(adobe_rgb_1998_profile()))
    assert "sRGB" in ImageCms.getProfileDescription(srgb)
    assert "Adobe RGB (1998)" in ImageCms.getProfileDescription(adobe)
    ImageCms.buildTransform(srgb, adobe, "RGB", "RGB")
