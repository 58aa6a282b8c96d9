"""Classical motion estimation shared by the interpolation engines: DIS optical flow on luma.

Motion lives in luma, and dense flow fields are smooth, so flow is estimated on 8-bit luma
at no more than ``FLOW_WIDTH`` pixels across and upsampled where full resolution is needed.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import cv2
import numpy as np

from vidfuse.picture import PerLuma, Picture

if TYPE_CHECKING:
    import torch  # the networks' formulas are these too; torch is imported only by them

FLOW_WIDTH = 480

# A numpy array or a torch tensor: the formulas are the same, and so is the type that comes out.
Field = TypeVar("Field", np.ndarray, "torch.Tensor")


def intermediate_flows(forward: Field, backward: Field, t: float | Field
                       ) -> tuple[Field, Field]:
    """Flows from the instant t back to frame a and on to frame b.

    The quadratic blend of the two directions (Jiang et al., Super SloMo, 2018) is exact for
    linear motion and degrades gracefully where one direction is unreliable.
    """
    to_a = -(1 - t) * t * forward + t * t * backward
    to_b = (1 - t) * (1 - t) * forward - t * (1 - t) * backward
    return to_a, to_b


def acceleration(ahead: Field, behind: Field) -> Field:
    """Per-pixel acceleration at a frame, from its flows to the next and previous frames.

    For x(s) = x0 + v s + acc s²/2 sampled at s = -1, 0, 1, the two flows are v + acc/2
    and -v + acc/2: their sum is acc (Xu et al., Quadratic Video Interpolation, 2019).
    """
    return ahead + behind


def acceleration_shift(accel: Field, t: float | Field) -> Field:
    """What acceleration adds to the flow from instant t back to the frame it was measured at
    (t counted from frame a to frame b; the same formula holds for frame b by symmetry)."""
    return accel * (t * (1 - t) / 2)


# The share of the acceleration shift applied without a network to weigh it (`flow`, and the
# learned engine's untrained start). Measured on all five clips (luma PSNR, shift x 0 / 0.5
# / 1): half never scored below none (+0.04 to +0.93 dB); the full shift was best on the
# training clips (Megamind +0.55 dB over half) but lost 0.22 dB on bikes, a validation
# clip, so this choice saw the validation clips.
ACCELERATION_SHARE = 0.5


class FlowEstimator:
    """DIS flow between pictures, on reduced-resolution luma; several flows at once run side
    by side.

    ``width``: the most pixels across flow is computed at. Neighbouring frames need little
    (FLOW_WIDTH: 480 costs 0.01-0.04 dB against 640 at 720p and saves 37% of the time);
    keyframes up to 32 frames away need more (colour alignment uses 640: at 480 it lost
    0.1-0.15 dB, benchmarks/colour_quality.py).

    DIS's own threading leaves the second core idle for much of each call, so the flows of
    one request are computed concurrently, one DIS instance per thread (same results as one
    after the other; the end-to-end gain is in benchmarks/speed.py).
    """

    def __init__(self, width: int = FLOW_WIDTH) -> None:
        self._width = width
        self._small = PerLuma(lambda picture: luma8(picture, self.scale_for(picture.width)))
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vidfuse-flow")

    def scale_for(self, width: int) -> float:
        return min(1.0, self._width / width)

    def flow(self, a: Picture, b: Picture) -> np.ndarray:
        """Flow a->b as (h, w, 2) float32 at ``scale_for(width)`` resolution, in pixels of
        that resolution."""
        return self.flows([(a, b)])[0]

    def bidirectional(self, a: Picture, b: Picture) -> tuple[np.ndarray, np.ndarray]:
        """Flow a->b and b->a, as :meth:`flow` gives them."""
        forward, backward = self.flows([(a, b), (b, a)])
        return forward, backward

    def flows(self, pairs: Sequence[tuple[Picture, Picture]]) -> list[np.ndarray]:
        """The flow of each (from, to) pair, as :meth:`flow` gives it; the first is computed
        on the calling thread while the others run on a worker."""
        smalls = [(self._small(a), self._small(b)) for a, b in pairs]
        later = [self._pool.submit(self._calc, *pair) for pair in smalls[1:]]
        first = self._calc(*smalls[0])
        return [first, *(future.result() for future in later)]

    def _calc(self, small_a: np.ndarray, small_b: np.ndarray) -> np.ndarray:
        dis = getattr(self._local, "dis", None)
        if dis is None:  # DIS keeps working buffers: one instance per thread
            dis = self._local.dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        height, width = small_a.shape
        if min(height, width) >= _DIS_MIN_SIDE:
            return dis.calc(small_a, small_b, None)  # type: ignore[call-overload]  # None: a new field
        # Icons and thumbnails: DIS refuses images this small, so they are edge-padded for
        # the estimate and the field cropped back (the padding itself does not move).
        pad = ((0, max(0, _DIS_MIN_SIDE - height)), (0, max(0, _DIS_MIN_SIDE - width)))
        flow = dis.calc(np.pad(small_a, pad, mode="edge"), np.pad(small_b, pad, mode="edge"),
                        None)  # type: ignore[call-overload]
        return np.ascontiguousarray(flow[:height, :width])


# The smallest side DIS takes with its default patch size (OpenCV asks for 12 or more).
_DIS_MIN_SIDE = 16


def luma8(picture: Picture, scale: float = 1.0) -> np.ndarray:
    """8-bit luma, area-downscaled by ``scale`` (DIS works on 8-bit images)."""
    luma = picture.y if picture.bits == 8 else (picture.y >> (picture.bits - 8)).astype(np.uint8)
    if scale == 1.0:
        return luma
    size = (round(picture.width * scale), round(picture.height * scale))
    return cv2.resize(luma, size, interpolation=cv2.INTER_AREA)


def resize_flow(flow: np.ndarray, width: int, height: int) -> np.ndarray:
    """A flow field resampled to another resolution, with its vectors rescaled to match
    (bilinear when enlarging, area-averaged when shrinking)."""
    if flow.shape[:2] == (height, width):
        return flow
    shrinking = width < flow.shape[1]
    resized = cv2.resize(flow, (width, height),
                         interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return resized * np.array([width / flow.shape[1], height / flow.shape[0]], np.float32)


@dataclass
class PairMotion:
    """The motion of one pair a -> b at flow resolution: both flows and each frame's
    acceleration (zero where the frame before a or after b is unknown)."""

    forward: np.ndarray
    backward: np.ndarray
    accel_a: np.ndarray
    accel_b: np.ndarray


class MotionTracker:
    """Flows for consecutive pairs of a shot, with what the neighbouring pairs add.

    Per pair: the flows both ways and, given the frame after, the flow on to it; the flow
    back from the previous pair is kept, so each frame's acceleration is known. The
    look-ahead flow is reused as the next pair's forward flow: a pair still costs two DIS
    runs.
    """

    def __init__(self, width: int = FLOW_WIDTH) -> None:
        self.flows = FlowEstimator(width)
        # From the last pair: its second frame, the flow from it back to the first, and the
        # frame looked ahead to with the flow to it.
        self._end: Picture | None = None
        self._backward: np.ndarray | None = None
        self._ahead: tuple[Picture, np.ndarray] | None = None

    def reset(self) -> None:
        """Forget the previous pair (a scene cut)."""
        self._end = self._backward = self._ahead = None

    def measure(self, a: Picture, b: Picture, after: Picture | None) -> PairMotion:
        """The motion of the pair a -> b; ``after`` is the frame that follows b in the same
        shot (None at a cut or the end). Acceleration at a is known only when the previous
        call measured the pair that ends at a."""
        continues = self._end is not None and self._end.y is a.y
        reuse = continues and self._ahead is not None and self._ahead[0].y is b.y
        wanted = [(b, a), *([] if reuse else [(a, b)]),
                  *([(b, after)] if after is not None else [])]
        backward, *rest = self.flows.flows(wanted)
        forward = self._ahead[1] if reuse and self._ahead is not None else rest.pop(0)
        ahead = rest.pop(0) if after is not None else None
        still = np.zeros_like(forward)
        accel_a = (acceleration(forward, self._backward)
                   if continues and self._backward is not None else still)
        accel_b = acceleration(backward, ahead) if ahead is not None else still
        self._end, self._backward = b, backward
        self._ahead = (after, ahead) if after is not None and ahead is not None else None
        return PairMotion(forward, backward, accel_a, accel_b)
