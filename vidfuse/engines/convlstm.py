"""The learned engine: DIS flow refined by the trained recurrent network (`vidfuse.nets`).

Per pair: classical flow on luma, then the network digests the pair at about 160 pixels
across and updates its ConvLSTM memory. Per instant: the network corrects the intermediate
flows, the blending mask and low-frequency luma; `vidfuse.render` warps the full-resolution
planes with the corrected flows. The memory is cleared at scene cuts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from vidfuse.engines import register
from vidfuse.motion import FlowEstimator, intermediate_flows, resize_flow
from vidfuse.nets.convlstm import State
from vidfuse.nets.interpolator import net_divisor
from vidfuse.nets.tensors import image_array, image_tensor
from vidfuse.picture import Picture
from vidfuse.render import WarpRenderer
from vidfuse.weights import NETWORKS, load_network

# The network was trained at about 320 pixels across (NET_WIDTH) but runs at about 160: its
# corrections are smooth, and at 720p this halves the engine's time (49.5 -> 23.5 ms a
# pair) with scores level on the training clips (vtest +0.05, Megamind -0.01 dB) and higher
# on the validation clips (benchmarks/quality.py; README).
INFERENCE_NET_WIDTH = 160


@register("convlstm", "learned: DIS flow refined by a trained ConvLSTM U-Net (weights "
                      f"'{NETWORKS['interp'][1]}')")
class RecurrentInterpolator:
    name = "convlstm"

    def __init__(self, device: str, weights: str | Path | None = None) -> None:
        self.device = device
        # channels_last: the same arithmetic, ~1.6x faster convolutions on CPU (measured).
        self._model = load_network("interp", weights).to(device,
                                                         memory_format=torch.channels_last)
        self._flows = FlowEstimator()
        self._renderer = WarpRenderer()
        self._state: State | None = None

    def reset(self) -> None:
        self._state = None

    def interpolate(self, a: Picture, b: Picture, ts: Sequence[float]) -> list[Picture]:
        forward, backward = self._flows.bidirectional(a, b)
        divisor = net_divisor(a.width, INFERENCE_NET_WIDTH)
        size = (math.ceil(a.width / divisor), math.ceil(a.height / divisor))
        tensors = [image_tensor(array, self.device) for array in (
            _small_luma(a, size), _small_luma(b, size),
            resize_flow(forward, *size), resize_flow(backward, *size))]
        results = []
        # Half precision on GPUs; the CPU path stays float32 (same weights either way).
        on_gpu = self.device.startswith("cuda")
        with torch.inference_mode(), torch.autocast("cuda", torch.float16, enabled=on_gpu):
            context, self._state = self._model.encode_pair(*tensors, divisor, self._state)
            for t in ts:
                refinement = self._model.refine(context, t)
                flow_ta, flow_tb = intermediate_flows(forward, backward, t)
                height, width = flow_ta.shape[:2]
                flow_ta = flow_ta + resize_flow(image_array(refinement.delta_a), width, height)
                flow_tb = flow_tb + resize_flow(image_array(refinement.delta_b), width, height)
                results.append(self._renderer.render(
                    a, b, flow_ta, flow_tb, image_array(refinement.mask)[..., 0],
                    image_array(refinement.residual)[..., 0]))
        return results


def _small_luma(picture: Picture, size: tuple[int, int]) -> np.ndarray:
    luma = picture.y.astype(np.float32) * np.float32(1.0 / picture.max_value)
    return cv2.resize(luma, size, interpolation=cv2.INTER_AREA)
