"""Aligning a keyframe's colour to a grey frame: DIS flow on luma, warped chroma, confidence.

Shared by the classical colouriser and the learned one, so both start from the same aligned
candidates and the network only has to learn what the heuristic gets wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vidfuse.motion import FlowEstimator
from vidfuse.picture import Picture
from vidfuse.render import WarpRenderer

# Flow between a grey frame and a keyframe up to 32 frames away is computed at up to this
# many pixels across (finer than between neighbours: see FlowEstimator).
ALIGN_WIDTH = 640
# Luma mismatch (in [0, 1] units, after a light blur) at which alignment counts as failed.
_MISMATCH = 0.04


@dataclass
class AlignedKeyframe:
    """One keyframe's colour moved onto a grey frame, with how far to trust it per pixel."""

    luma: np.ndarray  # (H, W) float32 [0, 1], the keyframe's luma warped onto the grey frame
    chroma: np.ndarray  # (h, w, 2) float32 [0, 1], its chroma, warped the same way
    confidence: np.ndarray  # (H, W) float32 in (0, 1]: luma agreement after warping


class KeyframeAligner:
    """Warps keyframes onto grey frames by optical flow computed from grey to key."""

    def __init__(self) -> None:
        self._flows = FlowEstimator(ALIGN_WIDTH)
        self._renderer = WarpRenderer()

    def align(self, grey: Picture, key: Picture) -> AlignedKeyframe:
        flow = self._flows.flow(grey, key)  # grey -> key, at flow resolution
        scale = np.float32(1.0 / key.max_value)
        luma = self._renderer.warp(key.y.astype(np.float32) * scale, flow)
        chroma_key = cv2.merge([key.u, key.v]).astype(np.float32) * scale
        chroma = self._renderer.warp(chroma_key, flow)
        grey_luma = grey.y.astype(np.float32) * np.float32(1.0 / grey.max_value)
        error = cv2.GaussianBlur(np.abs(luma - grey_luma), (0, 0), 2.0)
        confidence = np.exp(-((error / _MISMATCH) ** 2)).astype(np.float32) + 1e-3
        return AlignedKeyframe(luma, chroma, confidence)


def temporal_weight(frame: Picture, before: Picture | None, after: Picture | None) -> float:
    """Weight of the earlier keyframe from the frame's position between the two."""
    if after is None:
        return 1.0
    if before is None:
        return 0.0
    span = after.time - before.time
    return 1.0 if span <= 0 else float((after.time - frame.time) / span)


def with_chroma(grey: Picture, chroma: np.ndarray) -> Picture:
    """The grey frame's own luma with new chroma ((h, w, 2) float in [0, 1])."""
    peak = grey.max_value
    dtype = grey.y.dtype
    planes = np.clip(chroma * peak + 0.5, 0, peak).astype(dtype)
    return Picture(grey.y, np.ascontiguousarray(planes[..., 0]),
                   np.ascontiguousarray(planes[..., 1]), grey.bits, grey.time)
