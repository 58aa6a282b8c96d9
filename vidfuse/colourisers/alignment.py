"""Aligning a keyframe's colour to a grey frame: DIS flow on luma, warped chroma, confidence.

Each keyframe is aligned two ways. Directly: one flow from the grey frame to the keyframe,
which fails when the keyframe is far away (large motion, things that appear). Chained: the
flows between neighbouring grey frames composed step by step back to the keyframe, which
follows large motion but drifts. Where one fails the other often holds (on the validation
clips a confidence-weighted blend of all four candidates beats the direct pair by 0.3 dB
with keyframes every 8 frames and 0.5 dB every 32), so the learned colouriser weighs all
four; the classical `flow` colouriser, the baseline, uses the direct pair only.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from vidfuse.motion import FlowEstimator
from vidfuse.picture import PerLuma, Picture
from vidfuse.render import WarpRenderer

# Flow between a grey frame and a keyframe up to 32 frames away is computed at up to this
# many pixels across (finer than between neighbours: see FlowEstimator).
ALIGN_WIDTH = 640
# Luma mismatch (in [0, 1] units, after a light blur) at which alignment counts as failed.
_MISMATCH = 0.04


@dataclass
class AlignedKeyframe:
    """One keyframe's colour moved onto a grey frame, with how far to trust it per pixel.

    All at the chroma planes' resolution: luma and confidence only serve to judge and weigh
    chroma, and at 4:2:0 this makes alignment 4x cheaper than full-resolution luma.
    """

    luma: np.ndarray  # (h, w) float32 [0, 1], the keyframe's luma warped onto the grey frame
    chroma: np.ndarray  # (h, w, 2) float32 [0, 1], its chroma, warped the same way
    confidence: np.ndarray  # (h, w) float32 in (0, 1]: luma agreement after warping


class KeyframeAligner:
    """Warps keyframes onto grey frames by optical flow computed from grey to key."""

    def __init__(self) -> None:
        self._flows = FlowEstimator(ALIGN_WIDTH)
        self._renderer = WarpRenderer()
        # Luma at chroma resolution, for the frame being coloured and both its keyframes.
        self._luma = PerLuma(_chroma_sized_luma, keep=3)

    def align(self, grey: Picture, key: Picture, flow: np.ndarray | None = None
              ) -> AlignedKeyframe:
        """``key`` moved onto ``grey`` by ``flow`` (grey -> key at flow resolution; by default
        computed directly)."""
        if flow is None:
            flow = self._flows.flow(grey, key)
        luma = self._renderer.warp(self._luma(key), flow)
        chroma_key = cv2.merge([key.u, key.v]).astype(np.float32) * np.float32(1 / key.max_value)
        chroma = self._renderer.warp(chroma_key, flow)
        blur = 2.0 * key.u.shape[1] / key.width  # 2 luma pixels
        error = cv2.GaussianBlur(np.abs(luma - self._luma(grey)), (0, 0), blur)
        confidence = np.exp(-((error / _MISMATCH) ** 2)).astype(np.float32) + 1e-3
        return AlignedKeyframe(luma, chroma, confidence)

    def chained_flows(self, frames: Sequence[Picture], key: Picture) -> Iterator[np.ndarray]:
        """Flow from each of ``frames`` (ordered outward from ``key``, the first next to it)
        to ``key``, composed of the flows between neighbours."""
        total: np.ndarray | None = None
        steps = list(zip(frames, [key, *frames[:-1]], strict=True))
        for start in range(0, len(steps), 2):  # two at a time: FlowEstimator runs them together
            for step in self._flows.flows(steps[start:start + 2]):
                # frame -> key = frame -> previous, then previous -> key where that step lands.
                total = step if total is None else step + self._renderer.warp(total, step)
                yield total

    def align_gap(self, grey: Sequence[Picture], before: Picture | None,
                  after: Picture | None) -> Iterator[list[AlignedKeyframe]]:
        """Per grey frame, the keyframes aligned directly and chained: [before direct,
        before chained, after direct, after chained]; a missing keyframe's pair repeats the
        other's (its temporal weight is 0, see `candidate_weights`).

        The chains towards ``after`` run backwards through the gap, so they are computed
        first and held (float16, at flow resolution: ~0.9 MB a frame at 720p).
        """
        towards_after: Sequence[np.ndarray | None] = [None] * len(grey)
        if after is not None:
            flows = self.chained_flows(grey[::-1], after)
            towards_after = [f.astype(np.float16) for f in flows][::-1]
        towards_before = (self.chained_flows(grey, before) if before is not None
                          else itertools.repeat(None, len(grey)))
        for frame, back, forth in zip(grey, towards_before, towards_after, strict=True):
            yield self.candidates(frame, before, after, back, forth)

    def candidates(self, frame: Picture, before: Picture | None, after: Picture | None,
                   chained_before: np.ndarray | None,
                   chained_after: np.ndarray | None) -> list[AlignedKeyframe]:
        """One frame's four candidates (see `align_gap`) from its chained flows."""
        known = [(key, chained) for key, chained in ((before, chained_before),
                                                     (after, chained_after))
                 if key is not None and chained is not None]
        direct = self._flows.flows([(frame, key) for key, _ in known])
        sides = [[self.align(frame, key, flow), self.align(frame, key, chained.astype(np.float32))]
                 for (key, chained), flow in zip(known, direct, strict=True)]
        return sides[0] + sides[-1]


def registered(key: Picture, grey: Picture, aligner: KeyframeAligner) -> Picture:
    """``key`` with its chroma moved onto ``grey``'s geometry.

    A reference from a second camera sees the scene from a little to the side (dual-sensor
    rigs: parallax) and up to half a frame earlier or later (timestamps match within half a
    frame), so its chroma is warped by the flow between the two lumas, the key's first
    brought to the grey's mean and contrast (the sensors differ). Where neither is the case
    the flow is about zero and the warp changes next to nothing; a displaced reference's
    colour lands where it belongs (benchmarks/reference.py).
    """
    luma, target = key.y.astype(np.float32), grey.y.astype(np.float32)
    gain = float(target.std()) / max(float(luma.std()), 1e-3)
    matched = np.clip((luma - float(luma.mean())) * gain + float(target.mean()) + 0.5, 0,
                      key.max_value).astype(key.y.dtype)
    aligned = aligner.align(grey, Picture(matched, key.u, key.v, key.bits, key.time))
    return with_chroma(key, aligned.chroma)


def _chroma_sized_luma(picture: Picture) -> np.ndarray:
    luma = picture.y.astype(np.float32) * np.float32(1.0 / picture.max_value)
    size = picture.u.shape[::-1]
    return luma if luma.shape == picture.u.shape else cv2.resize(luma, size,
                                                                 interpolation=cv2.INTER_AREA)


def candidate_weights(weight_before: float) -> np.ndarray:
    """Temporal weight of each `align_gap` candidate from the earlier keyframe's weight
    (`temporal_weight`): both of a keyframe's candidates get its weight."""
    return np.array([weight_before, weight_before, 1 - weight_before, 1 - weight_before],
                    np.float32)


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
