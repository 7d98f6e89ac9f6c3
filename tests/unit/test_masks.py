"""Shared mask maths: connected components, window sums and the frame's border strip."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from packshot.imaging.masks import (
    backdrop_grid,
    block_any,
    box_count,
    box_mean,
    component_areas,
    erode3,
    frame_strip,
    label_components,
    quadratic_basis,
    row_runs,
)


def flood_fill_labels(mask: np.ndarray) -> np.ndarray:
    """8-connected labels by breadth-first flood fill, numbered in the order a row-major scan meets them."""
    labels = np.zeros(mask.shape, np.int32)
    count = 0
    for y, x in zip(*np.nonzero(mask), strict=True):
        if labels[y, x]:
            continue
        count += 1
        labels[y, x] = count
        queue = deque([(y, x)])
        while queue:
            cy, cx = queue.popleft()
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    ny, nx = cy + dy, cx + dx
                    if 0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1] and mask[ny, nx] and not labels[ny, nx]:
                        labels[ny, nx] = count
                        queue.append((ny, nx))
    return labels


def window_sum(image: np.ndarray, radius: int) -> np.ndarray:
    """The (2r+1)^2 window sum at each pixel, edges replicated, one window at a time (the slow, obvious way)."""
    padded = np.pad(image.astype(np.float64), radius, mode="edge")
    size = 2 * radius + 1
    height, width = image.shape
    return np.array([[padded[y : y + size, x : x + size].sum() for x in range(width)] for y in range(height)])


def test_components_touching_at_a_corner_are_one_component() -> None:
    binary = np.zeros((6, 6), bool)
    binary[1, 1] = binary[2, 2] = True  # diagonal neighbours
    binary[4, 4:6] = True
    labels, count = label_components(binary)
    assert count == 2
    assert labels[1, 1] == labels[2, 2] != labels[4, 4]


def test_a_u_shape_is_one_component_although_its_arms_meet_late() -> None:
    binary = np.zeros((5, 7), bool)
    binary[0:4, 1] = binary[0:4, 5] = True
    binary[4, 1:6] = True
    assert label_components(binary)[1] == 1


@pytest.mark.parametrize(("seed", "density"), [(0, 0.2), (1, 0.4), (2, 0.55), (3, 0.7), (4, 0.9)])
def test_labels_match_a_flood_fill_numbered_in_scan_order(seed: int, density: float) -> None:
    mask = np.random.default_rng(seed).random((40, 50)) < density
    expected = flood_fill_labels(mask)
    labels, count = label_components(mask)
    assert count == expected.max()
    np.testing.assert_array_equal(labels, expected)


@pytest.mark.parametrize("seed", range(3))
def test_component_areas_are_the_pixel_counts_in_label_order(seed: int) -> None:
    mask = np.random.default_rng(seed).random((33, 47)) < 0.45
    expected = np.bincount(flood_fill_labels(mask).ravel())[1:]
    np.testing.assert_array_equal(component_areas(mask), expected)


def test_an_empty_or_full_map_has_no_or_one_component() -> None:
    empty = np.zeros((4, 5), bool)
    assert label_components(empty)[1] == 0 and component_areas(empty).size == 0
    labels, count = label_components(~empty)
    assert count == 1 and (labels == 1).all()
    assert component_areas(~empty).tolist() == [20]


def runs_by_scanning(mask: np.ndarray) -> list[tuple[int, int, int]]:
    """(row, start, exclusive end) of each run of True, found pixel by pixel."""
    runs = []
    for y, row in enumerate(mask.tolist()):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append((y, start, x))
            else:
                x += 1
    return runs


@pytest.mark.parametrize(
    "mask",
    [
        np.zeros((5, 7), bool),
        np.ones((5, 7), bool),
        np.ones((1, 1), bool),
        np.zeros((1, 1), bool),
        np.array([[True, False, True, True, False, True]]),  # runs touching both ends of one row
        np.array([[True], [False], [True], [True]]),  # one column
        np.eye(6, dtype=bool),
        np.random.default_rng(8).random((17, 23)) < 0.5,
        np.random.default_rng(9).random((31, 2)) < 0.3,
    ],
)
def test_row_runs_are_the_runs_a_pixel_by_pixel_scan_finds_in_row_major_order(mask: np.ndarray) -> None:
    rows, starts, ends = row_runs(mask)
    assert list(zip(rows.tolist(), starts.tolist(), ends.tolist(), strict=True)) == runs_by_scanning(mask)
    assert rows.dtype == starts.dtype == ends.dtype == np.intp


def test_box_mean_is_the_window_mean_with_edges_replicated() -> None:
    image = np.random.default_rng(3).random((30, 40)).astype(np.float32)
    assert np.allclose(box_mean(image, 3), window_sum(image, 3) / 49, atol=1e-5)


@pytest.mark.parametrize("shape", [(3, 30, 41), (17, 9), (1, 1), (1, 12), (12, 1)])
def test_box_mean_is_the_summed_area_table_of_numpys_cumulative_sums_to_the_bit(shape: tuple[int, ...]) -> None:
    image = np.random.default_rng(len(shape)).random(shape).astype(np.float32)
    radius = 3
    pad = [(0, 0)] * (image.ndim - 2) + [(radius + 1, radius), (radius + 1, radius)]
    table = np.pad(image, pad, mode="edge")
    table[..., 0, :] = 0.0
    table[..., :, 0] = 0.0
    table = np.cumsum(np.cumsum(table, axis=-2), axis=-1)
    size = 2 * radius + 1
    total = (
        table[..., size:, size:] - table[..., :-size, size:] - table[..., size:, :-size] + table[..., :-size, :-size]
    )
    np.testing.assert_array_equal(box_mean(image, radius), total / float(size * size))


def test_box_mean_filters_each_map_of_a_stack_on_its_own() -> None:
    stack = np.random.default_rng(4).random((2, 12, 9)).astype(np.float32)
    together = box_mean(stack, 2)
    for k in range(2):
        np.testing.assert_allclose(together[k], box_mean(stack[k], 2), atol=1e-6)


def test_box_count_is_the_exact_window_sum_with_edges_replicated() -> None:
    binary = np.random.default_rng(5).random((23, 31)) > 0.4
    for radius in (1, 4):
        assert box_count(binary, radius).dtype == np.int32
        assert np.array_equal(box_count(binary, radius), window_sum(binary, radius).astype(np.int32))


def test_erosion_keeps_only_pixels_whose_whole_neighbourhood_is_set() -> None:
    mask = np.zeros((7, 7), bool)
    mask[1:6, 1:6] = True
    eroded = erode3(mask)
    assert eroded[2:5, 2:5].all() and eroded.sum() == 9
    assert erode3(np.ones((3, 3), bool)).all()  # the frame's edge is replicated, not eroded


@pytest.mark.parametrize("block", [2, 3, 8])
def test_block_pooling_marks_each_tile_that_holds_a_pixel_even_a_partial_tile_at_the_edge(block: int) -> None:
    mask = np.random.default_rng(block).random((19, 26)) < 0.03
    pooled = block_any(mask, block)
    tiles = -(-19 // block), -(-26 // block)
    expected = [[mask[y * block : (y + 1) * block, x * block : (x + 1) * block].any() for x in range(tiles[1])]
                for y in range(tiles[0])]
    np.testing.assert_array_equal(pooled, expected)
    assert block_any(mask, 1) is mask


def test_the_frame_strip_is_the_border_px_deep() -> None:
    strip = frame_strip(6, 8, 2)
    assert strip.sum() == 6 * 8 - 2 * 4
    assert strip[0].all() and strip[:, -1].all() and not strip[2:4, 2:6].any()


def test_the_backdrop_grid_is_the_quadratic_at_each_position() -> None:
    coeffs = np.random.default_rng(6).uniform(-40, 200, (6, 3)).astype(np.float32)
    u = (np.arange(7) + 0.5) / 7
    v = (np.arange(5) + 0.5) / 5
    image = backdrop_grid(coeffs, u, v)
    expected = quadratic_basis(np.broadcast_to(u[None, :], (5, 7)), np.broadcast_to(v[:, None], (5, 7))) @ coeffs
    assert image.shape == (5, 7, 3) and image.dtype == np.float32
    assert np.allclose(image, expected, atol=1e-3)
