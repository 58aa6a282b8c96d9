"""Classical motion-compensated interpolation: DIS optical flow on luma, bidirectional warping.

Motion is estimated once per pair on luma (where motion lives) at a reduced resolution, then
every requested instant is synthesised by warping both neighbours towards it and blending them
with weights that fall where forward and backward flow disagree (occlusions). All motion and
weight arithmetic happens at the reduced resolution; only the final warps and the blend touch
full-resolution pixels, in the samples' own integer type. Chroma follows the same motion at
its own resolution.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from vidfuse.engines import register
from vidfuse.motion import FlowEstimator, intermediate_flows, resize_flow
from vidfuse.picture import Picture

# Forward-backward disagreement (in pixels) at which a pixel counts as half occluded.
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
        self._grids: dict[tuple[int, int], np.ndarray] = {}

    def reset(self) -> None:
        """Each pair's flow is computed from scratch; nothing to forget."""

    def interpolate(self, a: Picture, b: Picture, ts: Sequence[float]) -> list[Picture]:
        if not ts:
            return []
        forward, backward = self._flows.bidirectional(a, b)
        visible_a = _visibility(forward, backward, self._grid(forward.shape[:2]))
        visible_b = _visibility(backward, forward, self._grid(forward.shape[:2]))
        chroma_a = cv2.merge([a.u, a.v])
        chroma_b = cv2.merge([b.u, b.v])
        results = []
        for t in ts:
            flow_ta, flow_tb = intermediate_flows(forward, backward, t)
            grid = self._grid(flow_ta.shape[:2])
            weight_a = (1 - t) * (_warp(visible_a, flow_ta, grid) + _WEIGHT_FLOOR)
            weight_b = t * (_warp(visible_b, flow_tb, grid) + _WEIGHT_FLOOR)
            share_a = weight_a / (weight_a + weight_b)
            y = self._warp_and_mix(a.y, b.y, flow_ta, flow_tb, share_a)
            uv = self._warp_and_mix(chroma_a, chroma_b, flow_ta, flow_tb, share_a)
            u, v = cv2.split(uv)
            results.append(Picture(y, u, v, a.bits, a.time))
        return results

    def _grid(self, shape: tuple[int, int]) -> np.ndarray:
        """Pixel coordinates as a 2-channel float map, cached per size."""
        if shape not in self._grids:
            ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
            self._grids[shape] = np.dstack([xs, ys])
        return self._grids[shape]

    def _warp_and_mix(self, plane_a: np.ndarray, plane_b: np.ndarray, flow_ta: np.ndarray,
                      flow_tb: np.ndarray, share_a: np.ndarray) -> np.ndarray:
        """Warp both planes to time t at their own resolution and mix them by ``share_a``."""
        height, width = plane_a.shape[:2]
        grid = self._grid((height, width))
        warped_a = _warp(plane_a, resize_flow(flow_ta, width, height), grid)
        warped_b = _warp(plane_b, resize_flow(flow_tb, width, height), grid)
        share = cv2.resize(share_a, (width, height), interpolation=cv2.INTER_LINEAR)
        if plane_a.dtype == np.uint8:
            return cv2.blendLinear(warped_a, warped_b, share, 1.0 - share)
        if warped_a.ndim == 3:
            share = share[..., None]
        mixed = warped_b + share * (warped_a.astype(np.float32) - warped_b)
        return np.clip(mixed + 0.5, 0, np.iinfo(plane_a.dtype).max).astype(plane_a.dtype)


def _visibility(flow: np.ndarray, other: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """How surely each pixel is seen in the other frame: 1 where the flows agree, ~0 where not."""
    back = _warp(other, flow, grid)
    error = np.sum((flow + back) ** 2, axis=2)
    return np.exp(-error / (2 * _OCCLUSION_PIXELS**2)).astype(np.float32)


def _warp(image: np.ndarray, flow: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Sample ``image`` at x + flow(x) (backward warping), clamping at the borders."""
    return cv2.remap(image, grid + flow, None, cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)
