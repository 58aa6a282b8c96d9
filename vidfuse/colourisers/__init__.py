"""Colourisers: give greyscale frames the colour of the nearest colour keyframes.

A colouriser sees the grey frames between two keyframes (either may be missing at the ends of
a shot) and returns them with chroma filled in; their luma passes through unchanged. Like
interpolation engines, colourisers never touch files and are looked up by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from vidfuse.picture import Picture
from vidfuse.registry import Builtin, Registry


class Colouriser(Protocol):
    name: str
    device: str

    def colourise(self, grey: Sequence[Picture], before: Picture | None,
                  after: Picture | None) -> list[Picture]:
        """``grey`` (luma used, chroma ignored) coloured from keyframes ``before``/``after``,
        which lie at ``before.time`` <= each grey frame's time <= ``after.time``."""
        ...


# What `--colouriser auto` runs: the classical one, until the learned one wins on footage it
# was never tuned on. `ae` leads on benchmarks/colour_quality.py's validation clips (+0.30 /
# +0.61 dB with keyframes every 8 / 32) but trailed `flow` by 0.09 dB on average on two
# held-out clips run through the CLI, at 2.3-6x its time: choices made while looking at the
# validation clips show there.
AUTO_COLOURISER = "flow"

COLOURISERS: Registry[Colouriser] = Registry("colouriser", {
    "ae": Builtin("vidfuse.colourisers.learned:AutoencoderColouriser",
                  "learned: warped keyframe colour corrected by an encoder-decoder (weights "
                  "'colour-ae')", learned=True),
    "flow": Builtin("vidfuse.colourisers.flow_warp:FlowWarpColouriser",
                    "keyframe chroma warped by DIS optical flow, confidence-weighted "
                    "(baseline)"),
    "nearest": Builtin("vidfuse.colourisers.nearest:NearestKeyframeColouriser",
                       "chroma of the nearer keyframe, unmoved (baseline)"),
}, AUTO_COLOURISER)
register = COLOURISERS.register
available = COLOURISERS.available
build_colouriser = COLOURISERS.build
