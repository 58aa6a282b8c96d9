"""Fast CPU synthesis of an in-between frame from flows and a blending mask (OpenCV).

Both neighbours are warped towards the new instant and mixed; the warps and the mix run in
the samples' own integer type at each plane's own resolution, so only these final steps
touch full-resolution pixels. Flows, mask and residual may come at any lower resolution.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from vidfuse.picture import Picture

Corrections = list[tuple[int, float]]  # (index along one axis, coordinate error there)


class WarpRenderer:
    """Warps and blends pictures; caches the pixel grids it needs per size."""

    def __init__(self) -> None:
        self._grids: dict[tuple[int, int], np.ndarray] = {}
        # Per (flow size, image size): the flow-size grid in image pixels and the border
        # corrections of resizing it (see _resized_map), both fixed for a given video.
        self._maps: dict[tuple[int, int, int, int], tuple[np.ndarray, Corrections,
                                                          Corrections]] = {}

    def grid(self, shape: tuple[int, int]) -> np.ndarray:
        """Pixel coordinates as a 2-channel float map, cached per (height, width)."""
        if shape not in self._grids:
            ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
            self._grids[shape] = np.dstack([xs, ys])
        return self._grids[shape]

    def warp(self, image: np.ndarray, flow: np.ndarray) -> np.ndarray:
        """Sample ``image`` at x + flow(x) (backward warping), clamping at the borders.

        ``flow`` may have another resolution than ``image`` (it is then resampled, its
        vectors rescaled): the sampling map is built at the flow's size and resized once,
        3x faster at 720p than resizing the flow and adding a full-size grid.
        """
        height, width = image.shape[:2]
        if flow.shape[:2] == (height, width):
            sampling = self.grid(flow.shape[:2]) + flow
        else:
            sampling = self._resized_map(flow, width, height)
        return cv2.remap(image, sampling, None, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)

    def _resized_map(self, flow: np.ndarray, width: int, height: int) -> np.ndarray:
        """x + flow(x) at (height, width) from a flow at another size.

        Coordinates are affine in the pixel index, so resizing the map computed at the flow's
        size is exact under cv2.resize's pixel-centre convention, except where the resize
        clamps at the outermost pixels; those are corrected from ``_border_error``.
        """
        h, w = flow.shape[:2]
        scale = np.array([width / w, height / h], np.float32)
        shrinking = width < w
        key = (h, w, width, height)
        if key not in self._maps:
            ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
            grid = np.dstack([(xs + 0.5) * scale[0] - 0.5, (ys + 0.5) * scale[1] - 0.5])
            self._maps[key] = (grid, _border_error(width, w, shrinking),
                               _border_error(height, h, shrinking))
        grid, columns, rows = self._maps[key]
        # OpenCV's per-channel scalar arithmetic: no numpy broadcasting buffers.
        moved = cv2.add(grid, cv2.multiply(flow, (float(scale[0]), float(scale[1]), 0.0, 0.0)))
        sampling: np.ndarray = cv2.resize(
            moved, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
        for index, error in columns:
            sampling[:, index, 0] -= error
        for index, error in rows:
            sampling[index, :, 1] -= error
        return sampling

    def render(self, a: Picture, b: Picture, flow_ta: np.ndarray, flow_tb: np.ndarray,
               share_a: np.ndarray | float, residual: np.ndarray | None = None) -> Picture:
        """The picture at the instant whose flows back to ``a`` and ``b`` are given.

        ``share_a`` is the weight of ``a`` in [0, 1], per pixel or one number; ``residual``
        an optional luma correction in [0, 1] units. Flows and per-pixel arrays are resized
        to each plane as needed.
        """
        y = self._warp_and_mix(a.y, b.y, flow_ta, flow_tb, share_a, residual)
        uv = self._warp_and_mix(cv2.merge([a.u, a.v]), cv2.merge([b.u, b.v]), flow_ta, flow_tb,
                                share_a, None)
        u, v = cv2.split(uv)
        alpha = None
        if a.alpha is not None and b.alpha is not None:
            alpha = self._warp_and_mix(a.alpha, b.alpha, flow_ta, flow_tb, share_a, None)
        return Picture(y, u, v, a.bits, a.time, alpha)

    def warped(self, picture: Picture, flow: np.ndarray) -> Picture:
        """Every plane of ``picture`` (opacity too) sampled along ``flow``."""
        u, v = cv2.split(self.warp(cv2.merge([picture.u, picture.v]), flow))
        alpha = None if picture.alpha is None else self.warp(picture.alpha, flow)
        return Picture(self.warp(picture.y, flow), u, v, picture.bits, picture.time, alpha)

    def _warp_and_mix(self, plane_a: np.ndarray, plane_b: np.ndarray, flow_ta: np.ndarray,
                      flow_tb: np.ndarray, share_a: np.ndarray | float,
                      residual: np.ndarray | None) -> np.ndarray:
        height, width = plane_a.shape[:2]
        warped_a = self.warp(plane_a, flow_ta)
        warped_b = self.warp(plane_b, flow_tb)
        peak = np.iinfo(plane_a.dtype).max
        if isinstance(share_a, float):
            if plane_a.dtype == np.uint8 and residual is None:
                return cv2.addWeighted(warped_a, share_a, warped_b, 1.0 - share_a, 0.0)
            mixed = warped_b + share_a * (warped_a.astype(np.float32) - warped_b)
        else:
            share: np.ndarray = cv2.resize(share_a, (width, height),
                                           interpolation=cv2.INTER_LINEAR)
            if plane_a.dtype == np.uint8 and residual is None:
                return cv2.blendLinear(warped_a, warped_b, share, 1.0 - share)
            if warped_a.ndim == 3:
                share = share[..., None]
            mixed = warped_b + share * (warped_a.astype(np.float32) - warped_b)
        if residual is not None:
            mixed += cv2.resize(residual, (width, height), interpolation=cv2.INTER_LINEAR) * peak
        return np.clip(mixed + 0.5, 0, peak).astype(plane_a.dtype)


def weighted(pictures: Sequence[Picture], weights: np.ndarray) -> Picture:
    """Pictures of one instant summed with per-pixel weights (n x h x w at any resolution,
    summing to 1 at each pixel, resized to each plane), in the planes' own integer type."""
    def plane(planes: list[np.ndarray]) -> np.ndarray:
        height, width = planes[0].shape[:2]
        total = np.zeros(planes[0].shape, np.float32)
        for values, weight in zip(planes, weights, strict=True):
            share = cv2.resize(weight, (width, height), interpolation=cv2.INTER_LINEAR)
            total += (share[..., None] if values.ndim == 3 else share) * values
        return np.clip(total + 0.5, 0, np.iinfo(planes[0].dtype).max).astype(planes[0].dtype)

    first = pictures[0]
    uv = plane([cv2.merge([p.u, p.v]) for p in pictures])
    u, v = cv2.split(uv)
    alphas = [p.alpha for p in pictures if p.alpha is not None]
    alpha = plane(alphas) if len(alphas) == len(pictures) else None
    return Picture(plane([p.y for p in pictures]), u, v, first.bits, first.time, alpha)


def _border_error(size: int, small: int, shrinking: bool) -> Corrections:
    """(index, error) where resizing the affine map from ``small`` to ``size`` samples
    clamped: the resized coordinate minus the true one, per index along that axis."""
    if size == small:
        return []
    ratio = size / small
    grid = ((np.arange(small, dtype=np.float32) + 0.5) * ratio - 0.5)[None, :]
    resized = cv2.resize(grid, (size, 1), interpolation=cv2.INTER_AREA if shrinking
                         else cv2.INTER_LINEAR)[0]
    error = resized - np.arange(size, dtype=np.float32)
    return [(int(i), float(error[i])) for i in np.flatnonzero(np.abs(error) > 1e-3)]
