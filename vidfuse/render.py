"""Fast CPU synthesis of an in-between frame from flows and a blending mask (OpenCV).

Both neighbours are warped towards the new instant and mixed; the warps and the mix run in
the samples' own integer type at each plane's own resolution, so only these final steps
touch full-resolution pixels. Flows, mask and residual may come at any lower resolution.
"""

from __future__ import annotations

import cv2
import numpy as np

from vidfuse.motion import resize_flow
from vidfuse.picture import Picture


class WarpRenderer:
    """Warps and blends pictures; caches the pixel grids it needs per size."""

    def __init__(self) -> None:
        self._grids: dict[tuple[int, int], np.ndarray] = {}

    def grid(self, shape: tuple[int, int]) -> np.ndarray:
        """Pixel coordinates as a 2-channel float map, cached per (height, width)."""
        if shape not in self._grids:
            ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
            self._grids[shape] = np.dstack([xs, ys])
        return self._grids[shape]

    def warp(self, image: np.ndarray, flow: np.ndarray) -> np.ndarray:
        """Sample ``image`` at x + flow(x) (backward warping), clamping at the borders."""
        return cv2.remap(image, self.grid(flow.shape[:2]) + flow, None, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)

    def render(self, a: Picture, b: Picture, flow_ta: np.ndarray, flow_tb: np.ndarray,
               share_a: np.ndarray, residual: np.ndarray | None = None) -> Picture:
        """The picture at the instant whose flows back to ``a`` and ``b`` are given.

        ``share_a`` is the weight of ``a`` in [0, 1]; ``residual`` an optional luma correction
        in [0, 1] units. All three are resized to each plane as needed.
        """
        y = self._warp_and_mix(a.y, b.y, flow_ta, flow_tb, share_a, residual)
        uv = self._warp_and_mix(cv2.merge([a.u, a.v]), cv2.merge([b.u, b.v]), flow_ta, flow_tb,
                                share_a, None)
        u, v = cv2.split(uv)
        return Picture(y, u, v, a.bits, a.time)

    def _warp_and_mix(self, plane_a: np.ndarray, plane_b: np.ndarray, flow_ta: np.ndarray,
                      flow_tb: np.ndarray, share_a: np.ndarray,
                      residual: np.ndarray | None) -> np.ndarray:
        height, width = plane_a.shape[:2]
        warped_a = self.warp(plane_a, resize_flow(flow_ta, width, height))
        warped_b = self.warp(plane_b, resize_flow(flow_tb, width, height))
        share = cv2.resize(share_a, (width, height), interpolation=cv2.INTER_LINEAR)
        peak = np.iinfo(plane_a.dtype).max
        if plane_a.dtype == np.uint8 and residual is None:
            return cv2.blendLinear(warped_a, warped_b, share, 1.0 - share)
        if warped_a.ndim == 3:
            share = share[..., None]
        mixed = warped_b + share * (warped_a.astype(np.float32) - warped_b)
        if residual is not None:
            mixed += cv2.resize(residual, (width, height), interpolation=cv2.INTER_LINEAR) * peak
        return np.clip(mixed + 0.5, 0, peak).astype(plane_a.dtype)
