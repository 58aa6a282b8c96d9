"""Training losses, by name. Each compares predicted luma and chroma with the truth.

`mse`, `mep` and `ssim` are the three of the research code vidfuse grew from ("GenAI-Powered
Spatio-Temporal Fusion for Video Super-Resolution"); `charbonnier` (a smooth L1) is the
robust loss most frame-interpolation work settled on. `benchmarks/ablation.py` compares them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

Loss = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, float], torch.Tensor]
LOSSES: dict[str, Loss] = {}
CHROMA_WEIGHT = 0.5  # chroma carries less detail the eye can see; it still must follow motion


def register(name: str) -> Callable[[Loss], Loss]:
    def add(loss: Loss) -> Loss:
        LOSSES[name] = loss
        return loss

    return add


def build_loss(name: str) -> Loss:
    if name not in LOSSES:
        raise ValueError(f"unknown loss '{name}' (available: {', '.join(LOSSES)})")
    return LOSSES[name]


@register("mse")
def mse(luma: torch.Tensor, luma_true: torch.Tensor, chroma: torch.Tensor,
        chroma_true: torch.Tensor, alpha: float) -> torch.Tensor:
    return F.mse_loss(luma, luma_true) + CHROMA_WEIGHT * F.mse_loss(chroma, chroma_true)


@register("mep")
def mse_plus_total_variation(luma: torch.Tensor, luma_true: torch.Tensor, chroma: torch.Tensor,
                             chroma_true: torch.Tensor, alpha: float) -> torch.Tensor:
    """The research code's "MEP": MSE plus ``alpha`` times the total variation of the prediction's
    error, which spreads the error evenly (maximum entropy) instead of in sharp artefacts."""
    error = luma - luma_true
    variation = ((error[..., 1:, :] - error[..., :-1, :]).abs().mean()
                 + (error[..., :, 1:] - error[..., :, :-1]).abs().mean())
    return mse(luma, luma_true, chroma, chroma_true, alpha) + alpha * variation


@register("ssim")
def mse_plus_ssim(luma: torch.Tensor, luma_true: torch.Tensor, chroma: torch.Tensor,
                  chroma_true: torch.Tensor, alpha: float) -> torch.Tensor:
    """MSE plus ``alpha`` times (1 - SSIM) of luma."""
    return (mse(luma, luma_true, chroma, chroma_true, alpha)
            + alpha * (1.0 - ssim(luma, luma_true)))


@register("charbonnier")
def charbonnier(luma: torch.Tensor, luma_true: torch.Tensor, chroma: torch.Tensor,
                chroma_true: torch.Tensor, alpha: float) -> torch.Tensor:
    def robust(x: torch.Tensor) -> torch.Tensor:
        return torch.sqrt(x * x + 1e-6).mean()

    return robust(luma - luma_true) + CHROMA_WEIGHT * robust(chroma - chroma_true)


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean SSIM of [0, 1] images (N, C, H, W) with an 11x11 Gaussian window (sigma 1.5)."""
    coords = torch.arange(11, dtype=x.dtype, device=x.device) - 5
    gauss = torch.exp(-(coords**2) / (2 * 1.5**2))
    gauss = gauss / gauss.sum()
    channels = x.shape[1]
    kernel = (gauss[:, None] * gauss[None, :]).expand(channels, 1, 11, 11)

    def blur(img: torch.Tensor) -> torch.Tensor:
        return F.conv2d(img, kernel, groups=channels)

    mx, my = blur(x), blur(y)
    vx, vy, cov = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    c1, c2 = 0.01**2, 0.03**2
    return (((2 * mx * my + c1) * (2 * cov + c2))
            / ((mx * mx + my * my + c1) * (vx + vy + c2))).mean()


@register("psnr")
def negative_psnr(luma: torch.Tensor, luma_true: torch.Tensor, chroma: torch.Tensor,
                  chroma_true: torch.Tensor, alpha: float) -> torch.Tensor:
    """Minus each sample's PSNR (dB), averaged: what the benchmarks score. Unlike a mean of
    squared errors over the batch, a sample with little motion counts as much as one with a
    lot, so a model that must not lose on calm footage is not steered by the wild one."""
    def per_sample(x: torch.Tensor) -> torch.Tensor:
        return (x * x).flatten(1).mean(1)

    error = per_sample(luma - luma_true) + CHROMA_WEIGHT * per_sample(chroma - chroma_true)
    return (10 * torch.log10(error + 1e-8)).mean()
