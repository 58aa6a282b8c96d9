"""The learned colouriser: an encoder-decoder that fixes what warped keyframe colour gets wrong.

Inputs are the grey frame's luma and, from each keyframe (before and after), its colour and
luma warped onto the grey frame by optical flow plus a confidence (how well the warped luma
matches). The classical answer blends the two warped colours by confidence and distance in
time; the network, at about 320 pixels across, corrects that blend. Every output chroma
sample is a blend of the two aligned candidates, never colour invented by the network: an
earlier version also added a learned chroma residual, which painted its training clips'
palettes where alignment failed and cost up to 1.2 dB on a validation clip (bikes, keyframe
every 32). Chroma is produced at its own resolution; the grey frame's luma is never touched.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vidfuse.nets.blocks import conv, zero_head

_TRUST_FLOOR = 1e-4


def _resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(image.shape[-2:]) == size:
        return image
    shrinking = size[-1] < image.shape[-1]
    return F.interpolate(image, size=size, mode="area" if shrinking else "bilinear",
                         **({} if shrinking else {"align_corners": False}))


class KeyframeColourNet(nn.Module):
    """Chroma for a grey frame from two aligned keyframe candidates."""

    def __init__(self, features: int = 24, middle: int = 32, hidden: int = 48) -> None:
        super().__init__()
        self.inp = conv(11, features)
        self.down1 = conv(features, middle, 2)
        self.down2 = conv(middle, hidden, 2)
        self.middle = nn.Sequential(conv(hidden, hidden), conv(hidden, hidden))
        self.up1 = conv(hidden + middle, middle)
        self.up2 = conv(middle + features, features)
        self.head = zero_head(features, 1)

    def forward(self, luma: torch.Tensor, luma_a: torch.Tensor, luma_b: torch.Tensor,
                chroma_a: torch.Tensor, chroma_b: torch.Tensor, confidence_a: torch.Tensor,
                confidence_b: torch.Tensor, weight_a: torch.Tensor,
                divisor: int) -> torch.Tensor:
        """Lumas and confidences (N,1,H,W), chroma candidates (N,2,h,w), weight_a (N,) the
        temporal weight of keyframe a. Returns chroma (N,2,h,w) in [0, 1]."""
        weight_a = weight_a.reshape(-1, 1, 1, 1)
        chroma_size = tuple(chroma_a.shape[-2:])
        trust_a = weight_a * _resize(confidence_a, chroma_size) + _TRUST_FLOOR
        trust_b = (1 - weight_a) * _resize(confidence_b, chroma_size) + _TRUST_FLOOR
        prior = torch.log(trust_a) - torch.log(trust_b)

        net_size = (-(-luma.shape[-2] // divisor), -(-luma.shape[-1] // divisor))
        small = [_resize(x, net_size) for x in (luma, luma_a, luma_b, chroma_a, chroma_b,
                                                confidence_a, confidence_b, prior)]
        y, ya, yb, ca, cb, qa, qb, p = small
        x = torch.cat((y, ya - y, yb - y, ca, cb, qa, qb, p.clamp(-8, 8) / 4,
                       weight_a.expand_as(y)), 1)
        level0 = self.inp(x)
        level1 = self.down1(level0)
        up = self.middle(self.down2(level1))
        up = self.up1(torch.cat((_resize(up, tuple(level1.shape[-2:])), level1), 1))
        up = self.up2(torch.cat((_resize(up, tuple(level0.shape[-2:])), level0), 1))
        mask = torch.sigmoid(prior + _resize(self.head(up), chroma_size))
        return mask * chroma_a + (1 - mask) * chroma_b
