"""Backward warping and flow resampling on torch tensors (N, C, H, W), flows in pixels."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def backward_warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample ``image`` at x + flow(x), bilinearly, clamping at the borders."""
    _, _, height, width = flow.shape
    ys = torch.arange(height, dtype=flow.dtype, device=flow.device).view(1, height, 1)
    xs = torch.arange(width, dtype=flow.dtype, device=flow.device).view(1, 1, width)
    grid_x = (xs + flow[:, 0]) * (2.0 / max(width - 1, 1)) - 1.0
    grid_y = (ys + flow[:, 1]) * (2.0 / max(height - 1, 1)) - 1.0
    grid = torch.stack((grid_x, grid_y), dim=3)
    return F.grid_sample(image, grid.to(image.dtype), mode="bilinear", padding_mode="border",
                         align_corners=True)


def shrink_flow(flow: torch.Tensor, factor: int) -> torch.Tensor:
    """Average a full-resolution flow down by an integer factor, vectors rescaled to match."""
    if factor == 1:
        return flow
    return F.avg_pool2d(flow, factor, ceil_mode=True) / factor


def grow_flow(flow: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinearly upsample a flow to ``size`` (h, w), vectors rescaled to match."""
    if tuple(flow.shape[-2:]) == size:
        return flow
    scale = torch.tensor([size[1] / flow.shape[-1], size[0] / flow.shape[-2]],
                         dtype=flow.dtype, device=flow.device).view(1, 2, 1, 1)
    return F.interpolate(flow, size=size, mode="bilinear", align_corners=False) * scale


def visibility(flow: torch.Tensor, other: torch.Tensor, sigma: float = 1.5) -> torch.Tensor:
    """1 where following ``flow`` then ``other`` returns home (visible in both), ~0 if not."""
    error = (flow + backward_warp(other, flow)).pow(2).sum(dim=1, keepdim=True)
    return torch.exp(-error / (2 * sigma * sigma))
