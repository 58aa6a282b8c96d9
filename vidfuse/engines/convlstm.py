"""The learned engine: DIS flow refined by the trained recurrent network (`vidfuse.nets`).

Per pair: classical flow on luma both ways and each frame's acceleration, as the `flow`
engine measures them (`vidfuse.motion.MotionTracker`). The network digests the pair at
about 160 pixels across and updates its ConvLSTM memory. Per instant: it weighs the
acceleration shifts and corrects the intermediate flows, the blending mask and low-frequency
luma; `vidfuse.render` warps the full-resolution planes with the corrected flows. Memory and
motion history are cleared at scene cuts.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path

import cv2
import numpy as np
import torch

from vidfuse.motion import (
    MotionTracker,
    PairMotion,
    acceleration_shift,
    intermediate_flows,
    resize_flow,
)
from vidfuse.nets.convlstm import State
from vidfuse.nets.interpolator import PairContext, net_divisor
from vidfuse.nets.tensors import image_array, image_tensor
from vidfuse.picture import Picture
from vidfuse.render import WarpRenderer
from vidfuse.weights.networks import load_network

# The network was trained at about 320 pixels across (NET_WIDTH) but runs at about 160: its
# corrections are smooth, and at 720p this halves the engine's time (49.5 -> 23.5 ms a
# pair) with scores level on the training clips (vtest +0.05, Megamind -0.01 dB) and higher
# on the validation clips (benchmarks/quality.py; docs/benchmarks.md). Re-checked with the
# acceleration-aware network: at 320 it scored lower still (vtest -0.15, bikes -0.33 dB).
INFERENCE_NET_WIDTH = 160


class RecurrentInterpolator:
    name = "convlstm"

    def __init__(self, device: str, weights: str | Path | None = None) -> None:
        self.device = device
        # channels_last: the same arithmetic, ~1.6x faster convolutions on CPU (measured).
        self._model = load_network("interp", weights).to(device,
                                                         memory_format=torch.channels_last)  # type: ignore[call-overload]
        self._motion = MotionTracker()
        self._renderer = WarpRenderer()
        self._state: State | None = None

    def reset(self) -> None:
        self._state = None
        self._motion.reset()

    def interpolate(self, a: Picture, b: Picture, ts: Sequence[float],
                    after: Picture | None = None) -> Iterator[Picture]:
        motion = self._motion.measure(a, b, after)
        divisor = net_divisor(a.width, INFERENCE_NET_WIDTH)
        size = (math.ceil(a.width / divisor), math.ceil(a.height / divisor))
        tensors = [image_tensor(array, self.device) for array in (
            _small_luma(a, size), _small_luma(b, size),
            *(resize_flow(flow, *size) for flow in (motion.forward, motion.backward,
                                                     motion.accel_a, motion.accel_b)))]
        with self._running():
            context, self._state = self._model.encode_pair(*tensors, divisor, self._state)
        return self._render(a, b, motion, context, ts)

    def _running(self) -> ExitStack:
        """How the network runs: without autograd, in half precision on GPUs (the CPU path
        stays float32; same weights either way). Entered per step, never across a yield, so
        the caller's own torch mode is untouched between pictures."""
        stack = ExitStack()
        stack.enter_context(torch.inference_mode())
        stack.enter_context(torch.autocast("cuda", torch.float16,
                                           enabled=self.device.startswith("cuda")))
        return stack

    def _render(self, a: Picture, b: Picture, motion: PairMotion, context: PairContext,
                ts: Sequence[float]) -> Iterator[Picture]:
        for t in ts:
            with self._running():
                refinement = self._model.refine(context, t)
                flow_ta, flow_tb = intermediate_flows(motion.forward, motion.backward, t)
                flow_ta = flow_ta + _corrections(refinement.delta_a, refinement.gate_a,
                                                 acceleration_shift(motion.accel_a, t))
                flow_tb = flow_tb + _corrections(refinement.delta_b, refinement.gate_b,
                                                 acceleration_shift(motion.accel_b, t))
                made = self._renderer.render(
                    a, b, flow_ta, flow_tb, image_array(refinement.mask)[..., 0],
                    image_array(refinement.residual)[..., 0])
            yield made


def _corrections(delta: torch.Tensor, gate: torch.Tensor, shift: np.ndarray) -> np.ndarray:
    """The network's flow correction plus its share of the acceleration shift, at the
    shift's (flow) resolution."""
    height, width = shift.shape[:2]
    share = cv2.resize(image_array(gate)[..., 0], (width, height),
                       interpolation=cv2.INTER_LINEAR)
    return resize_flow(image_array(delta), width, height) + share[..., None] * shift


def _small_luma(picture: Picture, size: tuple[int, int]) -> np.ndarray:
    luma = picture.y.astype(np.float32) * np.float32(1.0 / picture.max_value)
    return cv2.resize(luma, size, interpolation=cv2.INTER_AREA)
