"""The learned colouriser: an encoder-decoder that fixes what warped keyframe colour gets wrong.

Inputs are the grey frame's luma and four candidates: each keyframe (before and after)
aligned to it directly and along a chain of neighbour flows (`colourisers.alignment`), each
with its warped colour and luma and a confidence (how well the warped luma matches). The
classical answer blends the candidates by confidence and distance in time; the network, at
about 320 pixels across, corrects that blend. Every output chroma sample is a mix of the
aligned candidates, never colour invented by the network: an earlier version also added a
learned chroma residual, which painted its training clips' palettes where alignment failed
and cost up to 1.2 dB on a validation clip (bikes, keyframe every 32). Chroma is produced at
its own resolution; the grey frame's luma is never touched.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vidfuse.nets.blocks import conv, zero_head

_TRUST_FLOOR = 1e-4


def _size(image: torch.Tensor) -> tuple[int, int]:
    """An image's (height, width)."""
    return int(image.shape[-2]), int(image.shape[-1])


def _resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(image.shape[-2:]) == size:
        return image
    shrinking = size[-1] < image.shape[-1]
    return F.interpolate(image, size=size, mode="area" if shrinking else "bilinear",
                         **({} if shrinking else {"align_corners": False}))


CANDIDATES = 4  # per grey frame: each keyframe aligned directly and chained (see alignment)


class KeyframeColourNet(nn.Module):
    """Chroma for a grey frame from its aligned keyframe candidates."""

    def __init__(self, features: int = 24, middle: int = 32, hidden: int = 48) -> None:
        super().__init__()
        self.inp = conv(1 + 5 * CANDIDATES, features)
        self.down1 = conv(features, middle, 2)
        self.down2 = conv(middle, hidden, 2)
        self.middle = nn.Sequential(conv(hidden, hidden), conv(hidden, hidden))
        self.up1 = conv(hidden + middle, middle)
        self.up2 = conv(middle + features, features)
        self.head = zero_head(features, CANDIDATES)

    def forward(self, luma: torch.Tensor, lumas: torch.Tensor, chromas: torch.Tensor,
                confidences: torch.Tensor, weights: torch.Tensor,
                divisor: int) -> torch.Tensor:
        """Luma (N,1,H,W); per candidate k: warped luma and confidence (N,K,h,w), chroma
        (N,K,2,h,w), all at chroma resolution, and temporal weight (N,K). Returns chroma
        (N,2,h,w) in [0, 1]: per sample, a mix of the candidates whose weights start from
        confidence x temporal weight."""
        n, k = weights.shape
        chroma_size = _size(chromas)
        trust = weights[..., None, None] * confidences + _TRUST_FLOOR
        prior = torch.log(trust)
        prior = prior - prior.max(1, keepdim=True).values

        net_size = (-(-luma.shape[-2] // divisor), -(-luma.shape[-1] // divisor))
        y = _resize(luma, net_size)
        flat_chroma = chromas.reshape(n, 2 * k, *chroma_size)
        x = torch.cat((y, _resize(lumas, net_size) - y, _resize(flat_chroma, net_size),
                       _resize(confidences, net_size), _resize(prior, net_size).clamp(-8, 0) / 4),
                      1)
        level0 = self.inp(x)
        level1 = self.down1(level0)
        up = self.middle(self.down2(level1))
        up = self.up1(torch.cat((_resize(up, _size(level1)), level1), 1))
        up = self.up2(torch.cat((_resize(up, _size(level0)), level0), 1))
        mask = torch.softmax(prior + _resize(self.head(up), chroma_size), 1)
        return (mask[:, :, None] * chromas).sum(1)
