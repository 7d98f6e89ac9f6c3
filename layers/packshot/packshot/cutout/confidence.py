"""How much to trust a cutout: signals measured at the model's input size and the score made of them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from packshot.cutout.backdrop import border_colour
from packshot.imaging.channels import channel_max
from packshot.models.base import ModelOutput


@dataclass(frozen=True)
class Signals:
    """The measurements confidence is made of; kept so a reviewer can see why a score is low."""

    raw_range: float  # model output max - min before normalisation
    band_width: float  # mean width of the uncertain band (0.1 < mask < 0.9) in model pixels
    colour_agreement: float  # IoU of mask > 0.5 and "differs from the backdrop colour", at model size
    area: float  # share of the frame with mask > 0.5
    edge_support: float = 1.0  # share of the outline the photo's contrast confirms (see edge_support)


def measure(rgb: np.ndarray, output: ModelOutput, mask: np.ndarray, support: float = 1.0) -> Signals:
    """The four confidence signals, all at the model's input size (cheap, and resolution-independent)."""
    side = mask.shape[0]
    small = np.asarray(Image.fromarray(rgb).resize((side, side), Image.Resampling.BOX), dtype=np.float32)
    inside = mask > 0.5
    area = float(inside.mean())
    # Band width = uncertain pixels per pixel of outline. Per outline, not per area: a thin chain is all
    # edge and would look "unsure" by area although each of its edges is as crisp as a box's.
    uncertain = float(((mask > 0.1) & (mask < 0.9)).sum())
    band_width = uncertain / max(outline_length(inside), 1)
    # A simple background model: anything clearly unlike the border colour is "something".
    distinct = channel_max(np.abs(small - border_colour(small.astype(np.uint8)))) > 24.0
    union = int((inside | distinct).sum())
    agreement = float((inside & distinct).sum()) / union if union else 0.0
    return Signals(
        raw_range=output.raw_range,
        band_width=band_width,
        colour_agreement=agreement,
        area=area,
        edge_support=support,
    )


def outline_length(inside: np.ndarray) -> int:
    """Pixels of `inside` with a 4-neighbour outside it (the image border counts as outside)."""
    padded = np.pad(inside, 1, constant_values=False)
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return int((inside & ~interior).sum())


def confidence(signals: Signals) -> float:
    """Confidence in [0, 1] = range * area * (0.5 * edge + 0.5 * agreement), each term in [0, 1].

    range: raw_range 0.3 -> 0, 0.7 and above -> 1 (a real subject drives u2netp's output close to 0..1;
        noise or an empty frame leaves a narrow range that min-max would otherwise stretch).
    area: 0 under 0.5% of the frame or over 97%, 1 between 3% and 85%, linear in between.
    edge: band width 3 model pixels or less -> 1, 8 or more -> 0 (a real edge is a thin band; a mask that
        is mostly "maybe" is a guess).
    agreement: IoU with the colour model 0.2 -> 0, 0.6 and above -> 1 (white-on-white products score low
        here on purpose: they are the cases worth a look).
    Range and area are gates (either alone can say "no subject"); edge and agreement grade the result.
    """
    s_range = _ramp(signals.raw_range, 0.3, 0.7)
    s_area = min(_ramp(signals.area, 0.005, 0.03), 1.0 - _ramp(signals.area, 0.85, 0.97))
    s_edge = 1.0 - _ramp(signals.band_width, 3.0, 8.0)
    s_agree = _ramp(signals.colour_agreement, 0.2, 0.6)
    return round(float(s_range * s_area * (0.5 * s_edge + 0.5 * s_agree)), 4)


def _ramp(value: float, low: float, high: float) -> float:
    return float(np.clip((value - low) / (high - low), 0.0, 1.0))
