"""Classical motion-compensated interpolation: DIS optical flow on luma, bidirectional warping.

Motion is estimated once per pair on luma at a reduced resolution (`vidfuse.motion`), then
every requested instant is synthesised by warping both neighbours towards it and blending them
with weights that fall where forward and backward flow disagree (occlusions). All motion and
weight arithmetic happens at the reduced resolution; `vidfuse.render` does the final warps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vidfuse.engines import register
from vidfuse.motion import FlowEstimator, intermediate_flows
from vidfuse.picture import Picture
from vidfuse.render import WarpRenderer

# Forward-backward disagreement (in flow pixels) at which a pixel counts as half occluded.
_OCCLUSION_PIXELS = 1.5
# Keeps a weight positive where both sides are occluded, falling back to a plain cross-fade.
_WEIGHT_FLOOR = 1e-3


@register("flow", "OpenCV DIS optical flow, bidirectional warping, occlusion-aware blending")
class FlowInterpolator:
    name = "flow"

    def __init__(self, device: str) -> None:
        # OpenCV's DIS runs on the CPU only.
        self.device = "cpu"
        self._flows = FlowEstimator()
        self._renderer = WarpRenderer()

    def reset(self) -> None:
        """Each pair's flow is computed from scratch; nothing to forget."""

    def interpolate(self, a: Picture, b: Picture, ts: Sequence[float]) -> list[Picture]:
        if not ts:
            return []
        forward, backward = self._flows.bidirectional(a, b)
        visible_a = self._visibility(forward, backward)
        visible_b = self._visibility(backward, forward)
        results = []
        for t in ts:
            flow_ta, flow_tb = intermediate_flows(forward, backward, t)
            weight_a = (1 - t) * (self._renderer.warp(visible_a, flow_ta) + _WEIGHT_FLOOR)
            weight_b = t * (self._renderer.warp(visible_b, flow_tb) + _WEIGHT_FLOOR)
            share_a = weight_a / (weight_a + weight_b)
            results.append(self._renderer.render(a, b, flow_ta, flow_tb, share_a))
        return results

    def _visibility(self, flow: np.ndarray, other: np.ndarray) -> np.ndarray:
        """How surely each pixel is seen in the other frame: 1 where the flows agree."""
        back = self._renderer.warp(other, flow)
        error = np.sum((flow + back) ** 2, axis=2)
        return np.exp(-error / (2 * _OCCLUSION_PIXELS**2)).astype(np.float32)
