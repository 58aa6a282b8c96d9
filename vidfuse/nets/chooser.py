"""The `hybrid` engine's network: per pixel, how much of each warped frame to take.

Four candidates reach every pixel: frame a and frame b warped to the instant along `flow`'s
motion and along RIFE's. The network sees the cues each method leaves about its own errors
(`vidfuse.engines.hybrid`) at about half the frame's resolution and answers the four weights
at a quarter: choosing is a regional decision (where one motion broke, which frame shows a
pixel the other hides), so the answer is smooth and cheap, while the pictures it mixes keep
their full detail. The weights start from each method's own mix (flow's by time, RIFE's by
its mask), half each, and the network moves them: untrained, it is the average of the two
engines' pictures. Dilated convolutions see ~70 pixels at the cues' scale for the price of a
few small layers; next to RIFE's network it costs a few percent.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vidfuse.nets.blocks import conv, zero_head

# Input channels (see vidfuse.engines.hybrid): four warped lumas, the two warp
# disagreements, the difference of the two methods' pictures, RIFE's mask, t, DIS's doubt
# at each frame, how far the motions differ, how fast RIFE sees things move.
CUES = 13
MASK, TIME = 7, 8
CANDIDATES = 4  # flow's warp of a, of b; RIFE's warp of a, of b


class CandidateChooser(nn.Module):
    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.head = conv(CUES, width, stride=2)
        # What the whole picture is like (noisy or clean, calm or wild) shifts every choice.
        self.context = nn.Conv2d(width, width, 1)
        self.body = nn.ModuleList(
            nn.Sequential(nn.Conv2d(width, width, 3, padding=d, dilation=d),
                          nn.LeakyReLU(0.1, inplace=True)) for d in (1, 2, 4, 8))
        self.out = zero_head(width, CANDIDATES)

    def forward(self, cues: torch.Tensor) -> torch.Tensor:
        """(n, CUES, h, w) -> the candidates' weights, (n, 4, ceil(h/2), ceil(w/2)),
        summing to 1 at each pixel."""
        x = self.head(cues)
        x = x + self.context(x.mean((2, 3), keepdim=True))
        for layer in self.body:
            x = x + layer(x)
        t, mask = cues[:, TIME:TIME + 1], cues[:, MASK:MASK + 1]
        prior = F.avg_pool2d(torch.cat([1 - t, t, mask, 1 - mask], 1), 2, ceil_mode=True)
        return torch.softmax(torch.log(prior.clamp_min(1e-6)) + self.out(x), 1)
