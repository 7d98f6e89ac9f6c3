"""Object keys are data: no key, however odd, can make a work or export key outside its prefix."""

from __future__ import annotations

import posixpath
import random
import re

import pytest

from packshot.events import ObjectRef, safe_name

ADVERSARIAL = [
    "..", ".", "/", "//", "../", "../../etc/passwd", "../../etc/passwd.jpg", "a/../../b.jpg", "./x.jpg",
    "shoot 01/my photo.jpg", "a+b/c+d.jpg", "crème brûlée 商品.jpg", "\u202eevil\u202c.jpg", "..\\..\\win.jpg",
    "%2e%2e/%2e%2e/x.jpg", "x\x00y.jpg", "x\ny.jpg", ".hidden.jpg", "-.jpg", "....jpg", "a" * 1020 + ".jpg",
    "/".join(["deep"] * 200) + ".jpg", "é" * 500, "~/.ssh/id_rsa", "C:\\Windows\\x.jpg", "exports/amazon_main/x.jpg",
]
SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def random_keys(n: int) -> list[str]:
    rng = random.Random(7)
    alphabet = "ab./\\+ %-_~:\x00\n\té商\u202e"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))) for _ in range(n)]


@pytest.mark.parametrize("key", ADVERSARIAL + random_keys(300))
def test_an_export_name_from_any_key_stays_inside_its_platform_folder(key: str) -> None:
    name = safe_name(key)
    assert SAFE.match(name), (key, name)
    assert ".." not in name.split(".")[0:1] and "/" not in name and "\\" not in name
    assert len(name) <= 200
    export_key = f"exports/amazon_main/{name}.jpg"
    assert posixpath.normpath(export_key).startswith("exports/amazon_main/")
    assert len(export_key.encode("utf-8")) < 1024


@pytest.mark.parametrize("key", ADVERSARIAL)
def test_work_keys_use_the_image_id_which_is_hex_whatever_the_key(key: str) -> None:
    image_id = ObjectRef(bucket="in", key=key, etag="e", version_id="", size=1).image_id
    assert re.fullmatch(r"img-[0-9a-f]{32}", image_id)


def test_two_long_keys_that_share_a_start_get_different_names() -> None:
    assert safe_name("a" * 900 + "1.jpg") != safe_name("a" * 900 + "2.jpg")


def test_a_key_that_is_only_dots_or_slashes_gets_a_plain_name() -> None:
    assert safe_name("..") == safe_name("/") == safe_name("../..") == "image"
