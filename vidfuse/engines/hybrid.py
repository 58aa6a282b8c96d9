"""`flow` and RIFE 4.0 together: a trained network takes, per pixel, what is right.

Neither engine is safe alone: RIFE follows fast motion that DIS loses, and DIS keeps fine
detail and slow motion that RIFE smears (docs/benchmarks.md). Both measure the motion of
each instant (`vidfuse.engines.flow`, `vidfuse.engines.rife`); both frames are warped along
each, and the network (`vidfuse.nets.chooser`) reads the cues each method leaves about its
own errors at about half the frame's resolution and weighs the four warped frames per
region, plane by plane. Every output pixel lies between its four candidates' values. Its
weights are shipped ('hybrid-chooser'); RIFE's are downloaded once (`vidfuse weights
download rife-4.0`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from vidfuse.engines.flow import FlowInterpolator
from vidfuse.engines.rife import RifeInterpolator, RifePair
from vidfuse.motion import PairMotion, resize_flow
from vidfuse.nets.chooser import CandidateChooser
from vidfuse.picture import Picture
from vidfuse.render import WarpRenderer, weighted
from vidfuse.weights.networks import load_network

# The cues are made at half the frame's size, and at most this many pixels across.
CUE_WIDTH = 640

# Per instant: the four warped frames (flow's a, b; RIFE's a, b) and the cues (CUES x h x w
# float32).
Candidates = tuple[list[Picture], np.ndarray]


class HybridInterpolator:
    name = "hybrid"

    def __init__(self, device: str, weights: str | Path | None = None) -> None:
        self.device = device
        # RIFE first: without its download, that is the error to see.
        self._pair = PairCandidates(FlowInterpolator(device), RifeInterpolator(device))
        net = load_network("hybrid", weights)
        assert isinstance(net, CandidateChooser)
        # channels_last: the same arithmetic, ~1.5x faster convolutions on CPU (measured).
        self._net = net.to(device, memory_format=torch.channels_last)  # type: ignore[call-overload]

    def reset(self) -> None:
        self._pair.reset()

    def interpolate(self, a: Picture, b: Picture, ts: Sequence[float],
                    after: Picture | None = None) -> Iterator[Picture]:
        if not ts:
            return iter(())
        return (weighted(warped, self._weights(cues))
                for warped, cues in self._pair.candidates(a, b, ts, after))

    def _weights(self, cues: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            tensor = torch.from_numpy(cues)[None].to(self.device)
            weights = self._net(tensor.contiguous(memory_format=torch.channels_last))
        return np.ascontiguousarray(weights[0].float().cpu().numpy())


class PairCandidates:
    """Both frames warped to each instant along both engines' motion, and the cues to choose
    between them: what the engine mixes and what its network is trained on
    (`vidfuse.train.hybrid_data`)."""

    def __init__(self, flow: FlowInterpolator, rife: RifeInterpolator) -> None:
        self._flow, self._rife = flow, rife
        self._renderer = WarpRenderer()

    def reset(self) -> None:
        self._flow.reset()

    def candidates(self, a: Picture, b: Picture, ts: Sequence[float],
                   after: Picture | None) -> Iterator[Candidates]:
        """Measures the pair now (moving `flow`'s tracker on); the instants follow lazily."""
        motion = self._flow.measure(a, b, after)
        return self._instants(a, b, motion, self._rife.measure(a, b), ts)

    def _instants(self, a: Picture, b: Picture, motion: PairMotion, pair: RifePair,
                  ts: Sequence[float]) -> Iterator[Candidates]:
        size = cue_size(a.width, a.height)
        small = [_small_luma(p, size) for p in (a, b)]
        unsure = _inconsistency(motion, size, self._renderer.warp)
        for t in ts:
            from_flow = self._flow.fields(motion, t)
            from_rife = self._rife.fields(pair, t)
            warped = [self._renderer.warped(frame, flow)
                      for frame, flow in ((a, from_flow[0]), (b, from_flow[1]),
                                          (a, from_rife[0]), (b, from_rife[1]))]
            yield warped, self._cues(small, unsure, from_flow, from_rife, t, size)

    def _cues(self, small: list[np.ndarray], unsure: tuple[np.ndarray, np.ndarray],
              from_flow: tuple[np.ndarray, np.ndarray, float],
              from_rife: tuple[np.ndarray, np.ndarray, np.ndarray], t: float,
              size: tuple[int, int]) -> np.ndarray:
        """What each method's warps look like and how much each is to be doubted, at
        ``size``, in the order `vidfuse.nets.chooser` reads them. Distances are in pixels at
        ``size``, log-compressed."""
        width, height = size
        flow_a, flow_b = (resize_flow(f, width, height) for f in from_flow[:2])
        rife_a, rife_b = (resize_flow(f, width, height) for f in from_rife[:2])
        mask = cv2.resize(from_rife[2], size, interpolation=cv2.INTER_AREA)
        warp = self._renderer.warp
        fa, fb = warp(small[0], flow_a), warp(small[1], flow_b)
        ra, rb = warp(small[0], rife_a), warp(small[1], rife_b)
        from_flow_y = from_flow[2] * fa + (1 - from_flow[2]) * fb
        from_rife_y = mask * ra + (1 - mask) * rb
        apart = _length(flow_a - rife_a) + _length(flow_b - rife_b)
        speed = _length(rife_a) + _length(rife_b)
        return np.stack([fa, fb, ra, rb, np.abs(fa - fb), np.abs(ra - rb),
                         from_flow_y - from_rife_y, mask, np.full_like(mask, t),
                         np.log1p(warp(unsure[0], flow_a)), np.log1p(warp(unsure[1], flow_b)),
                         np.log1p(apart), np.log1p(speed)]).astype(np.float32)


def cue_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) the cues are made at: half the frame, at most CUE_WIDTH across."""
    scale = min(0.5, CUE_WIDTH / width)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _small_luma(picture: Picture, size: tuple[int, int]) -> np.ndarray:
    luma = picture.y.astype(np.float32) / np.float32(picture.max_value)
    return cv2.resize(luma, size, interpolation=cv2.INTER_AREA)


def _length(field: np.ndarray) -> np.ndarray:
    return np.sqrt(field[..., 0] ** 2 + field[..., 1] ** 2)


def _inconsistency(motion: PairMotion, size: tuple[int, int],
                   warp: Callable[[np.ndarray, np.ndarray], np.ndarray]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """How far following DIS's flow there and back misses, at each pixel of each frame (in
    pixels at ``size``): large where the flow is wrong or the pixel is hidden in the other
    frame."""
    width, height = size
    forward, backward = (resize_flow(f, width, height) for f in (motion.forward,
                                                                   motion.backward))
    return (_length(forward + warp(backward, forward)),
            _length(backward + warp(forward, backward)))
