"""A convolutional LSTM cell (Shi et al., 2015): an LSTM whose gates are convolutions."""

from __future__ import annotations

import torch
from torch import nn

State = tuple[torch.Tensor, torch.Tensor]


class ConvLSTMCell(nn.Module):
    """Carries (hidden, cell) maps from one frame pair to the next."""

    def __init__(self, channels_in: int, hidden: int) -> None:
        super().__init__()
        self.hidden = hidden
        self.gates = nn.Conv2d(channels_in + hidden, 4 * hidden, 3, padding=1)

    def forward(self, x: torch.Tensor, state: State | None) -> State:
        if state is None or state[0].shape[-2:] != x.shape[-2:]:
            zeros = x.new_zeros(x.shape[0], self.hidden, *x.shape[-2:])
            state = (zeros, zeros)
        hidden, cell = state
        i, f, o, g = self.gates(torch.cat((x, hidden), dim=1)).chunk(4, dim=1)
        cell = torch.sigmoid(f) * cell + torch.sigmoid(i) * torch.tanh(g)
        hidden = torch.sigmoid(o) * torch.tanh(cell)
        return hidden, cell
