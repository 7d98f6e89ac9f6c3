"""Cut the product out of a studio photo: model mask, full-resolution refinement, and a confidence score.

The rooms: `recipe` (cut_out, the steps in order), `backdrop` (the fitted sweep behind the product),
`corrections` (the model's mask corrected where the photo says otherwise), `refinement` (the full-resolution
edge), `confidence` (how much to trust it), `files` (the RGBA file and the folder mode). Shared mask maths
(components, window sums) lives in packshot.imaging.masks.
"""

from __future__ import annotations

from packshot.cutout.backdrop import (
    backdrop_colour,
    backdrop_distance,
    backdrop_image,
    border_colour,
    chroma_distance,
    fit_backdrop,
)
from packshot.cutout.confidence import Signals, confidence, measure, outline_length
from packshot.cutout.corrections import (
    claim_coloured,
    claim_tinted,
    clear_background_holes,
    fill_enclosed_product,
    remove_islands,
)
from packshot.cutout.files import (
    SkipHandler,
    cut_out_files,
    decode_rgb,
    file_pixels,
    usable_cores,
    write_rgba_png,
)
from packshot.cutout.recipe import WORK_SIDE, Cutout, cut_out
from packshot.cutout.refinement import Band, decontaminate, edge_support, refine_alpha, upscale_mask
from packshot.imaging.masks import label_components

__all__ = [
    "WORK_SIDE",
    "Band",
    "Cutout",
    "Signals",
    "SkipHandler",
    "backdrop_colour",
    "backdrop_distance",
    "backdrop_image",
    "border_colour",
    "chroma_distance",
    "claim_coloured",
    "claim_tinted",
    "clear_background_holes",
    "confidence",
    "cut_out",
    "cut_out_files",
    "decode_rgb",
    "decontaminate",
    "edge_support",
    "file_pixels",
    "fill_enclosed_product",
    "fit_backdrop",
    "label_components",
    "measure",
    "outline_length",
    "refine_alpha",
    "remove_islands",
    "upscale_mask",
    "usable_cores",
    "write_rgba_png",
]
