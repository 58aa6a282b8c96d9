"""The learned interpolator: classical flow, refined by a small recurrent network.

Motion comes from DIS optical flow (computed outside, on luma), between the two frames and,
where known, to the frames before and after them: from those, each frame's acceleration
(`vidfuse.motion.acceleration`), so curved and speeding-up motion lands where it happens
rather than on the straight line between the frames. At a reduced "net" resolution (trained
at about 320 pixels across, run at about 160: see engines.convlstm) a U-Net with a ConvLSTM
at its bottleneck looks at both frames warped to the instant, the flows, the acceleration
shifts and where the two flows disagree, and predicts how much of each acceleration shift to
trust, a correction of the two intermediate flows, of the blending mask and a low-frequency
luma residual. The ConvLSTM carries what it learned about the motion from pair to pair. The
synthesis then warps the full-resolution frames with the corrected flows, so every output
pixel is a moved input pixel (plus a smooth residual), never one painted from scratch.

The output layer starts at zero: an untrained network is the classical `flow` engine (which
applies half of each acceleration shift), and training can only move it from there.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vidfuse.motion import (
    ACCELERATION_SHARE,
    acceleration,
    acceleration_shift,
    intermediate_flows,
)
from vidfuse.nets.blocks import conv, zero_head
from vidfuse.nets.convlstm import ConvLSTMCell, State
from vidfuse.nets.warp import backward_warp, grow_flow, shrink_flow, visibility

NET_WIDTH = 320
_FLOW_NORM = 8.0  # flows enter the network in units of 8 net pixels
_WEIGHT_FLOOR = 1e-3


def net_divisor(width: int, net_width: int = NET_WIDTH) -> int:
    """Power-of-two downscale that brings ``width`` to roughly ``net_width`` (never below
    3/4 of it)."""
    divisor = 1
    while width / (2 * divisor) >= 0.75 * net_width:
        divisor *= 2
    return divisor


@dataclass
class PairContext:
    """What the network knows about one pair of frames, shared by every instant between them.

    Everything here is at net resolution (the frame size divided by ``divisor``).
    """

    luma_a: torch.Tensor
    luma_b: torch.Tensor
    forward: torch.Tensor  # flow a->b in net pixels
    backward: torch.Tensor
    accel_a: torch.Tensor  # acceleration at a (motion.acceleration), zero when unknown
    accel_b: torch.Tensor
    visible_a: torch.Tensor
    visible_b: torch.Tensor
    memory: torch.Tensor  # ConvLSTM hidden state after this pair
    divisor: int


@dataclass
class Refinement:
    """The network's answer for one instant, at net resolution."""

    delta_a: torch.Tensor  # correction of the flow from t to a, in net pixels
    delta_b: torch.Tensor
    mask: torch.Tensor  # weight of frame a, in [0, 1]
    residual: torch.Tensor  # low-frequency luma correction
    gate_a: torch.Tensor  # how much of the acceleration shift at a to apply, in [0, 1]
    gate_b: torch.Tensor


class RecurrentFlowRefiner(nn.Module):
    """Refines classical flow interpolation; memory (a ConvLSTM) runs along the sequence."""

    def __init__(self, features: int = 16, middle: int = 24, hidden: int = 32) -> None:
        super().__init__()
        self.pair_in = conv(6, features)
        self.pair_down = nn.Sequential(conv(features, middle, 2), conv(middle, hidden, 2))
        self.lstm = ConvLSTMCell(hidden, hidden)
        self.t_in = conv(13, features)
        self.t_down1 = conv(features, middle, 2)
        self.t_down2 = conv(middle, hidden, 2)
        self.fuse = conv(2 * hidden, hidden)
        self.up1 = conv(hidden + middle, middle)
        self.up2 = conv(middle + features, features)
        self.head = zero_head(features, 8)

    def encode_pair(self, luma_a: torch.Tensor, luma_b: torch.Tensor, forward: torch.Tensor,
                    backward: torch.Tensor, accel_a: torch.Tensor, accel_b: torch.Tensor,
                    divisor: int, state: State | None) -> tuple[PairContext, State]:
        """Digest a pair given at net resolution (luma N,1,h,w in [0,1]; flows and
        accelerations N,2,h,w in net pixels) and advance the memory."""
        x = torch.cat((luma_a, luma_b, forward / _FLOW_NORM, backward / _FLOW_NORM), 1)
        state = self.lstm(self.pair_down(self.pair_in(x)), state)
        context = PairContext(luma_a, luma_b, forward, backward, accel_a, accel_b,
                              visibility(forward, backward), visibility(backward, forward),
                              state[0], divisor)
        return context, state

    def refine(self, context: PairContext, t: float | torch.Tensor) -> Refinement:
        """Flow, mask, residual and acceleration corrections for instant t (a number, or one
        per batch item). The zero output layer gives the classical `flow` engine's cross-fade
        by time, with half of each frame's acceleration shift."""
        t = _as_time(t, context.luma_a)
        to_a, to_b = intermediate_flows(context.forward, context.backward, t)
        shift_a = acceleration_shift(context.accel_a, t)
        shift_b = acceleration_shift(context.accel_b, t)
        to_a, to_b = to_a + ACCELERATION_SHARE * shift_a, to_b + ACCELERATION_SHARE * shift_b
        warped_a = backward_warp(context.luma_a, to_a)
        warped_b = backward_warp(context.luma_b, to_b)
        # Where the two flows disagree (occlusion, or just DIS noise): evidence for the
        # network to weigh, not a prior (see engines.flow for why).
        disagreement = (torch.log(backward_warp(context.visible_a, to_a) + _WEIGHT_FLOOR)
                        - torch.log(backward_warp(context.visible_b, to_b) + _WEIGHT_FLOOR))
        prior = torch.log(1 - t) - torch.log(t)
        x = torch.cat((warped_a, warped_b, to_a / _FLOW_NORM, to_b / _FLOW_NORM,
                       disagreement.clamp(-8, 8) / 4, t.expand_as(warped_a),
                       warped_a - warped_b, shift_a / _FLOW_NORM, shift_b / _FLOW_NORM), 1)
        level0 = self.t_in(x)
        level1 = self.t_down1(level0)
        level2 = self.fuse(torch.cat((self.t_down2(level1), context.memory), 1))
        up = F.interpolate(level2, size=level1.shape[-2:], mode="bilinear", align_corners=False)
        up = self.up1(torch.cat((up, level1), 1))
        up = F.interpolate(up, size=level0.shape[-2:], mode="bilinear", align_corners=False)
        out = self.head(self.up2(torch.cat((up, level0), 1)))
        return Refinement(out[:, 0:2], out[:, 2:4], torch.sigmoid(prior + out[:, 4:5]),
                          out[:, 5:6], torch.sigmoid(out[:, 6:7]), torch.sigmoid(out[:, 7:8]))


    def forward(self, luma: torch.Tensor, chroma: torch.Tensor, flows: torch.Tensor,
                ts: torch.Tensor, divisor: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Training path over sequences: luma (N, 2L+1, H, W) keys and truths interleaved,
        chroma (N, 2L+1, 2, h, w), flows (N, L, 2, 2, H, W), ts (N, L). Returns predicted
        luma (N, L, H, W) and chroma (N, L, 2, h, w), memory carried from gap to gap."""
        state: State | None = None
        lumas, chromas = [], []
        gaps = flows.shape[1]
        still = torch.zeros_like(flows[:, 0, 0])
        for gap in range(gaps):
            luma_a, luma_b = luma[:, 2 * gap, None], luma[:, 2 * gap + 2, None]
            forward, backward = flows[:, gap, 0], flows[:, gap, 1]
            # As in the engine: no acceleration where the neighbouring gap is not known.
            accel_a = acceleration(forward, flows[:, gap - 1, 1]) if gap > 0 else still
            accel_b = acceleration(backward, flows[:, gap + 1, 0]) if gap + 1 < gaps else still
            small = [shrink_flow(f, divisor) for f in (forward, backward, accel_a, accel_b)]
            context, state = self.encode_pair(shrink_luma(luma_a, divisor),
                                              shrink_luma(luma_b, divisor), small[0], small[1],
                                              small[2], small[3], divisor, state)
            refinement = self.refine(context, ts[:, gap])
            predicted, predicted_chroma = render(refinement, luma_a, luma_b, chroma[:, 2 * gap],
                                                 chroma[:, 2 * gap + 2], forward, backward,
                                                 accel_a, accel_b, ts[:, gap])
            lumas.append(predicted[:, 0])
            chromas.append(predicted_chroma)
        return torch.stack(lumas, 1), torch.stack(chromas, 1)


def shrink_luma(luma: torch.Tensor, divisor: int) -> torch.Tensor:
    """Area-downscale full-resolution luma by ``divisor`` for `encode_pair`."""
    return luma if divisor == 1 else F.avg_pool2d(luma, divisor, ceil_mode=True)


def render(refinement: Refinement, luma_a: torch.Tensor, luma_b: torch.Tensor,
           chroma_a: torch.Tensor, chroma_b: torch.Tensor, forward: torch.Tensor,
           backward: torch.Tensor, accel_a: torch.Tensor, accel_b: torch.Tensor,
           t: float | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Differentiable full-resolution synthesis (training and GPU inference).

    Warps both frames with the corrected flows and blends them by the mask; chroma follows
    the same motion at its own resolution. Flows are full resolution, in full pixels.
    """
    height, width = luma_a.shape[-2:]
    size = (int(height), int(width))
    t = _as_time(t, luma_a)
    to_a, to_b = intermediate_flows(forward, backward, t)
    to_a = (to_a + grow_flow(refinement.delta_a, size)
            + _grow(refinement.gate_a, size) * acceleration_shift(accel_a, t))
    to_b = (to_b + grow_flow(refinement.delta_b, size)
            + _grow(refinement.gate_b, size) * acceleration_shift(accel_b, t))
    mask = _grow(refinement.mask, size)
    residual = _grow(refinement.residual, size)
    luma = (mask * backward_warp(luma_a, to_a) + (1 - mask) * backward_warp(luma_b, to_b)
            + residual)
    factor = size[-1] // chroma_a.shape[-1]
    chroma_mask = F.avg_pool2d(mask, factor, ceil_mode=True) if factor > 1 else mask
    chroma = (chroma_mask * backward_warp(chroma_a, shrink_flow(to_a, factor))
              + (1 - chroma_mask) * backward_warp(chroma_b, shrink_flow(to_b, factor)))
    return luma.clamp(0, 1), chroma.clamp(0, 1)


def _grow(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(image, size=size, mode="bilinear", align_corners=False)


def _as_time(t: float | torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """t as an (N or 1, 1, 1, 1) tensor that broadcasts over images."""
    return torch.as_tensor(t, dtype=like.dtype, device=like.device).reshape(-1, 1, 1, 1)
