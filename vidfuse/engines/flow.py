"""Classical motion-compensated interpolation: DIS optical flow on luma, bidirectional warping.

Motion is estimated once per pair on luma at a reduced resolution (`vidfuse.motion`), then
every requested instant is synthesised by warping both neighbours towards it and mixing them
by their distance in time; `vidfuse.render` does the final warps at each plane's resolution.
Within a shot the frames before and after the pair give each frame's acceleration, and half
of the quadratic-motion shift it implies is applied (`motion.ACCELERATION_SHARE`), so motion
that speeds up or curves lands nearer where it happens than the straight line between frames.

The mix is deliberately not occlusion-aware. Down-weighting pixels where forward and
backward flow disagree (by more than 1.5 flow pixels) scored lower on every clip measured:
DIS's two directions disagree in textured regions as much as at real occlusions, so the
weighting mostly threw away half of the averaging that hides each warp's errors (the plain
mix: +0.16 dB on vtest, the clip this was decided on; on the validation clips since, +0.84
on bikes, +0.23 on bigbuckbunny, +0.05 on carphone: benchmarks/quality.py, docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from vidfuse.motion import (
    ACCELERATION_SHARE,
    MotionTracker,
    PairMotion,
    acceleration_shift,
    intermediate_flows,
)
from vidfuse.picture import Picture
from vidfuse.render import WarpRenderer


class FlowInterpolator:
    name = "flow"

    def __init__(self, device: str) -> None:
        # OpenCV's DIS runs on the CPU only.
        self.device = "cpu"
        self._motion = MotionTracker()
        self._renderer = WarpRenderer()

    def reset(self) -> None:
        self._motion.reset()

    def interpolate(self, a: Picture, b: Picture, ts: Sequence[float],
                    after: Picture | None = None) -> Iterator[Picture]:
        if not ts:
            return iter(())
        motion = self.measure(a, b, after)
        return (self._renderer.render(a, b, *self.fields(motion, t)) for t in ts)

    def measure(self, a: Picture, b: Picture, after: Picture | None) -> PairMotion:
        """The pair's motion (moving the tracker on): what :meth:`fields` draws from."""
        return self._motion.measure(a, b, after)

    @staticmethod
    def fields(motion: PairMotion, t: float) -> tuple[np.ndarray, np.ndarray, float]:
        """The flows from instant ``t`` back to each frame (at flow resolution) and the
        weight of the first: what the renderer draws the picture from."""
        to_a, to_b = intermediate_flows(motion.forward, motion.backward, t)
        to_a = to_a + ACCELERATION_SHARE * acceleration_shift(motion.accel_a, t)
        to_b = to_b + ACCELERATION_SHARE * acceleration_shift(motion.accel_b, t)
        return to_a, to_b, 1 - t
