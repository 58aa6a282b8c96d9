"""Small building blocks shared by the networks."""

from __future__ import annotations

from torch import nn


def conv(channels_in: int, channels_out: int, stride: int = 1) -> nn.Sequential:
    """3x3 convolution + leaky ReLU: the only layer type the networks need."""
    return nn.Sequential(nn.Conv2d(channels_in, channels_out, 3, stride, 1),
                         nn.LeakyReLU(0.1, inplace=True))


def zero_head(channels_in: int, channels_out: int) -> nn.Conv2d:
    """Output layer initialised to zero, so an untrained network reproduces the classical
    method it refines."""
    head = nn.Conv2d(channels_in, channels_out, 3, padding=1)
    nn.init.zeros_(head.weight)
    nn.init.zeros_(head.bias)  # type: ignore[arg-type]  # Conv2d has one unless bias=False
    return head
