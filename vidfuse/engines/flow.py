"""Classical motion-compensated interpolation: DIS optical flow on luma, bidirectional warping.

Motion is estimated once per pair on luma (where motion lives) at a reduced resolution, then
every requested instant is synthesised by warping both neighbours towards it and blending them
with weights that fall where forward and backward flow disagree (occlusions). Chroma follows
the same motion at its own resolution.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from vidfuse.engines import register
from vidfuse.picture import Picture

# Flow is estimated at no more than this width: DIS cost grows with area, and motion fields
# are smooth enough that upsampling them loses little.
_FLOW_WIDTH = 640
# Forward-backward disagreement (in pixels) at which a pixel counts as half occluded.
_OCCLUSION_PIXELS = 1.5


@register("flow", "OpenCV DIS optical flow, bidirectional warping, occlusion-aware blending")
class FlowInterpolator:
    name = "flow"

    def __init__(self, device: str) -> None:
        # OpenCV's DIS runs on the CPU only.
        self.device = "cpu"
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)

    def reset(self) -> None:
        """Each pair's flow is computed from scratch; nothing to forget."""

    def interpolate(self, a: Picture, b: Picture, ts: Sequence[float]) -> list[Picture]:
        if not ts:
            return []
        forward, backward = self._bidirectional_flow(a, b)
        visible_a = _visibility(forward, backward)
        visible_b = _visibility(backward, forward)
        planes_a, planes_b = a.planes_float(), b.planes_float()
        results = []
        for t in ts:
            flow_ta = -(1 - t) * t * forward + t * t * backward
            flow_tb = (1 - t) * (1 - t) * forward - t * (1 - t) * backward
            planes = [
                _blend_warped(pa, pb, flow_ta, flow_tb, visible_a, visible_b, t)
                for pa, pb in zip(planes_a, planes_b, strict=True)
            ]
            results.append(Picture.from_float(*planes, bits=a.bits, time=a.time))
        return results

    def _bidirectional_flow(self, a: Picture, b: Picture) -> tuple[np.ndarray, np.ndarray]:
        """Full-resolution flow a->b and b->a, estimated on downscaled 8-bit luma."""
        scale = min(1.0, _FLOW_WIDTH / a.width)
        ya, yb = _luma8(a, scale), _luma8(b, scale)
        forward = self._dis.calc(ya, yb, None)
        backward = self._dis.calc(yb, ya, None)
        if scale == 1.0:
            return forward, backward
        size = (a.width, a.height)
        return (
            cv2.resize(forward, size, interpolation=cv2.INTER_LINEAR) / scale,
            cv2.resize(backward, size, interpolation=cv2.INTER_LINEAR) / scale,
        )


def _luma8(picture: Picture, scale: float) -> np.ndarray:
    luma = picture.y if picture.bits == 8 else (picture.y >> (picture.bits - 8)).astype(np.uint8)
    if scale == 1.0:
        return luma
    size = (round(picture.width * scale), round(picture.height * scale))
    return cv2.resize(luma, size, interpolation=cv2.INTER_AREA)


def _visibility(flow: np.ndarray, other: np.ndarray) -> np.ndarray:
    """How surely each pixel is seen in the other frame: 1 where the flows agree, ~0 where not."""
    back = _warp(other, flow)
    error = np.sum((flow + back) ** 2, axis=2)
    return np.exp(-error / (2 * _OCCLUSION_PIXELS**2)).astype(np.float32)


def _warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample ``image`` at x + flow(x) (backward warping), clamping at the borders."""
    height, width = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32),
                                 np.arange(height, dtype=np.float32))
    return cv2.remap(image, grid_x + flow[..., 0], grid_y + flow[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def _blend_warped(plane_a: np.ndarray, plane_b: np.ndarray, flow_ta: np.ndarray,
                  flow_tb: np.ndarray, visible_a: np.ndarray, visible_b: np.ndarray,
                  t: float) -> np.ndarray:
    """Warp both planes to time t and mix them, trusting each where it is visible."""
    height, width = plane_a.shape
    if (height, width) != flow_ta.shape[:2]:
        # Chroma plane: the same motion, measured in chroma pixels.
        sx, sy = width / flow_ta.shape[1], height / flow_ta.shape[0]
        scale = np.array([sx, sy], dtype=np.float32)
        flow_ta = cv2.resize(flow_ta, (width, height), interpolation=cv2.INTER_AREA) * scale
        flow_tb = cv2.resize(flow_tb, (width, height), interpolation=cv2.INTER_AREA) * scale
        visible_a = cv2.resize(visible_a, (width, height), interpolation=cv2.INTER_AREA)
        visible_b = cv2.resize(visible_b, (width, height), interpolation=cv2.INTER_AREA)
    warped_a = _warp(plane_a, flow_ta)
    warped_b = _warp(plane_b, flow_tb)
    weight_a = (1 - t) * (_warp(visible_a, flow_ta) + 1e-3)
    weight_b = t * (_warp(visible_b, flow_tb) + 1e-3)
    return (weight_a * warped_a + weight_b * warped_b) / (weight_a + weight_b)
