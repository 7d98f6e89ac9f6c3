"""Mask maths shared by the cutout, the gate and QC: connected components, window sums, the frame's border.

numpy only, no scipy: the Lambda layer stays small, and every map here is at most a working copy (under 1 MP).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Runs:
    """The horizontal runs of a boolean map and the 8-connected component each belongs to.

    Run i covers row `rows[i]`, columns `starts[i]` to `ends[i]` (exclusive), in row-major order; `labels[i]` is
    its component, 1..count, numbered in the order each component first appears in row-major order.
    """

    rows: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    labels: np.ndarray
    count: int


def row_runs(binary: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, starts, ends) of the runs of True in each row of a 2-D boolean map, in row-major order; ends exclusive.

    One flat scan for the places where a row changes (with False before and after each row, a row's changes
    alternate: a run's start, then its end): a 2-D np.nonzero of the same map costs ten to twenty times as much.
    """
    height, width = binary.shape
    padded = np.zeros((height, width + 2), dtype=bool)
    padded[:, 1:-1] = binary
    changes = np.flatnonzero(padded[:, 1:] != padded[:, :-1])  # in a (height, width + 1) map
    rows, columns = np.divmod(changes, width + 1)
    return rows[0::2], columns[0::2], columns[1::2]


def label_runs(binary: np.ndarray) -> Runs:
    """8-connected components of a 2-D boolean map, found on row runs by a vectorised union-find.

    Runs, not pixels: a working-size mask has a few thousand runs, and no step is a per-pixel Python loop.
    """
    height, width = binary.shape
    stride = width + 2
    rows, starts, ends = row_runs(binary)
    runs = len(rows)
    if runs == 0:
        empty = np.zeros(0, np.int64)
        return Runs(rows, starts, ends, empty, 0)
    start_key = rows.astype(np.int64) * stride + starts
    end_key = rows.astype(np.int64) * stride + ends
    # Runs in the row above that touch run b (8-connected, diagonal contact counts): end >= b.start and
    # start <= b.end. Both keys are sorted, so each run's touching runs above are one contiguous slice.
    above = (rows.astype(np.int64) - 1) * stride
    first = np.searchsorted(end_key, above + starts, side="left")
    last = np.searchsorted(start_key, above + ends, side="right")
    counts = np.maximum(last - first, 0)
    total = int(counts.sum())
    roots = np.arange(runs)
    if total:
        lower = np.repeat(np.arange(runs), counts)
        offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        upper = np.repeat(first, counts) + offsets
        # Hook roots onto the smaller root and compress paths until every touching pair agrees; this converges
        # in a handful of rounds even for long snakes. Each component ends on its smallest run index.
        while True:
            root_a, root_b = roots[lower], roots[upper]
            if np.array_equal(root_a, root_b):
                break
            smaller = np.minimum(root_a, root_b)
            np.minimum.at(roots, root_a, smaller)
            np.minimum.at(roots, root_b, smaller)
            while True:
                jumped = roots[roots]
                if np.array_equal(jumped, roots):
                    break
                roots = jumped
    # A component's root is its first run in row-major order, so ranking the roots numbers the components in
    # the order they first appear.
    unique, labels = np.unique(roots, return_inverse=True)
    return Runs(rows, starts, ends, labels.reshape(-1) + 1, len(unique))


def label_components(binary: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected component labels (1..n in order of first appearance, 0 = background) and their count n."""
    height, width = binary.shape
    runs = label_runs(binary)
    labels = np.zeros((height, width), dtype=np.int32)
    if runs.count:
        lengths = runs.ends - runs.starts
        firsts = runs.rows.astype(np.int64) * width + runs.starts
        pixels = np.repeat(firsts - (np.cumsum(lengths) - lengths), lengths) + np.arange(int(lengths.sum()))
        labels.reshape(-1)[pixels] = np.repeat(runs.labels, lengths).astype(np.int32)
    return labels, runs.count


def component_areas(binary: np.ndarray) -> np.ndarray:
    """The pixel count of each 8-connected component of `binary`, in label order (no label image is made)."""
    runs = label_runs(binary)
    if runs.count == 0:
        return np.zeros(0, np.int64)
    return np.bincount(runs.labels - 1, weights=runs.ends - runs.starts, minlength=runs.count).astype(np.int64)


def box_count(image: np.ndarray, radius: int) -> np.ndarray:
    """Sum over a (2r+1)^2 window, edges replicated, of a boolean or small-integer 2-D map, in int32.

    Integer sums are exact (float32 sums lose levels past 2^24), so thresholds on them cannot flicker.
    """
    padded = np.pad(image.astype(np.int32), radius, mode="edge")
    size = 2 * radius + 1
    rows = np.cumsum(padded, axis=0, dtype=np.int32)
    rows = np.concatenate([rows[size - 1 : size], rows[size:] - rows[:-size]], axis=0)
    cols = np.cumsum(rows, axis=1, dtype=np.int32)
    return np.concatenate([cols[:, size - 1 : size], cols[:, size:] - cols[:, :-size]], axis=1)


def box_mean(image: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window, edges replicated, of small float maps in 0..1 (summed-area table, float32).

    float32 sums, no float64 copy: the maps here are under 1 MP, where float32 keeps the means to ~1e-6.
    `image` is (H, W) or a stack (K, H, W) of maps, each filtered on its own (the result may be a strided view).
    """
    stack = image[np.newaxis] if image.ndim == 2 else image
    count, height, width = stack.shape
    # The table is laid out (row, map, column), with a zero row and column in front and the edges replicated by
    # `radius` around: the sums down the columns go a row at a time (the same sums in the same order as
    # np.cumsum(axis=0), which walks a stack element by element at twice the cost), and each of those rows is one
    # contiguous block of every map's row (4.0 ms against 5.5 for four 384x330 maps laid out (map, row, column)).
    table = np.empty((height + 2 * radius + 1, count, width + 2 * radius + 1), np.float32)
    inner = table[1:, :, 1:]
    inner[radius : radius + height, :, radius : radius + width] = stack.transpose(1, 0, 2)
    inner[:radius] = inner[radius]
    inner[radius + height :] = inner[radius + height - 1]
    inner[:, :, :radius] = inner[:, :, radius : radius + 1]
    inner[:, :, radius + width :] = inner[:, :, radius + width - 1 : radius + width]
    table[0] = 0.0
    table[:, :, 0] = 0.0
    for row in range(1, table.shape[0]):
        table[row] += table[row - 1]
    np.cumsum(table, axis=-1, out=table)
    size = 2 * radius + 1
    total = table[size:, :, size:] - table[:-size, :, size:] - table[size:, :, :-size] + table[:-size, :, :-size]
    means = (total / float(size * size)).transpose(1, 0, 2)
    return means[0] if image.ndim == 2 else means


def erode3(mask: np.ndarray) -> np.ndarray:
    """True where the whole 3x3 neighbourhood is True (the border replicated), by shifted ANDs."""
    padded = np.pad(mask, 1, mode="edge")
    across = padded[:, :-2] & padded[:, 1:-1] & padded[:, 2:]
    return across[:-2] & across[1:-1] & across[2:]



def block_any(mask: np.ndarray, block: int) -> np.ndarray:
    """Whether each block x block tile of a boolean map holds a True pixel (the map padded with False to whole tiles).

    The OR of the block^2 strided views: the same as any() over (block, block) tiles, 10x faster. "Any" pooling
    keeps a one-pixel speck visible at the reduced size.
    """
    if block == 1:
        return mask
    height, width = mask.shape
    padded = np.pad(mask, ((0, -height % block), (0, -width % block)))
    pooled = padded[::block, ::block].copy()
    for dy in range(block):
        for dx in range(block):
            if dy or dx:
                pooled |= padded[dy::block, dx::block]
    return pooled


def frame_strip(height: int, width: int, px: int) -> np.ndarray:
    """The frame's border `px` pixels deep as a boolean map: where the backdrop is sampled before any mask exists."""
    strip = np.zeros((height, width), bool)
    strip[:px], strip[-px:], strip[:, :px], strip[:, -px:] = True, True, True, True
    return strip


def quadratic_basis(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(..., 6) float32 basis (1, u, v, u^2, v^2, uv) of a backdrop sweep at normalised positions (0..1)."""
    u = np.asarray(u, np.float32)
    v = np.asarray(v, np.float32)
    return np.stack([np.ones_like(u), u, v, u * u, v * v, u * v], axis=-1)


def backdrop_grid(coeffs: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """A quadratic backdrop sweep, (6, 3) coefficients over quadratic_basis, as a (len(v), len(u), 3) float32 image.

    The quadratic separates into a column term, a row term and u * v, so the frame costs three broadcast
    additions instead of a (H * W, 6) basis and a matrix product. The image is built as rows of W * 3 values, the
    row term tiled along them: an addition broadcast over a 3-long last axis costs twice as much.
    """
    u = np.asarray(u, np.float32)
    v = np.asarray(v, np.float32)
    coeffs = np.asarray(coeffs, np.float32)
    across = coeffs[0] + u[:, None] * coeffs[1] + (u * u)[:, None] * coeffs[3]  # (W, 3)
    down = v[:, None] * coeffs[2] + (v * v)[:, None] * coeffs[4]  # (H, 3)
    image = np.tile(down, (1, len(u)))  # (H, W * 3): each row's term at every column
    image += across.reshape(1, -1)
    image += v[:, None] * (u[:, None] * coeffs[5]).reshape(1, -1)
    return image.reshape(len(v), len(u), 3)


def photo_image(rgb: np.ndarray, image: Image.Image | None = None) -> Image.Image:
    """The RGB uint8 photo as a Pillow image, for its box reductions: `image` when the caller already made it.

    Pillow copies an RGB array into its own 4-byte pixels (12 ms at 4 MP): the cutout stage makes that copy once
    for both the cutout's and the gate's working copies. A given image must be the photo's size and RGB.
    """
    if image is None:
        return Image.fromarray(np.ascontiguousarray(rgb))
    if image.mode != "RGB" or image.size != (rgb.shape[1], rgb.shape[0]):
        raise ValueError(f"the photo's image is {image.mode} {image.size}, the photo RGB {rgb.shape[1]}x{rgb.shape[0]}")
    return image


def reduced_photo(rgb: np.ndarray, factor: int, image: Image.Image | None = None) -> np.ndarray:
    """The photo box-reduced by `factor` (Pillow's reduce), or `rgb` itself at factor 1; `image` is its
    photo_image when the caller has made one (checked against the photo either way)."""
    if image is None and factor == 1:
        return rgb
    source = photo_image(rgb, image)
    return np.asarray(source.reduce(factor)) if factor > 1 else rgb
