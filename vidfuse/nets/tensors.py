"""Moving images between numpy (h, w[, c]) and torch (1, c, h, w) for the engines."""

from __future__ import annotations

import numpy as np
import torch


def image_tensor(array: np.ndarray, device: str) -> torch.Tensor:
    """(h, w) or (h, w, c) float32 -> (1, c, h, w) on ``device``, channels-last in memory
    (the layout CPU convolutions run fastest in)."""
    if array.ndim == 2:
        array = array[..., None]
    tensor = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None]
    return tensor.to(device).contiguous(memory_format=torch.channels_last)


def image_array(tensor: torch.Tensor) -> np.ndarray:
    """(1, c, h, w) -> (h, w, c) float32 numpy on the CPU."""
    return np.ascontiguousarray(tensor[0].permute(1, 2, 0).float().cpu().numpy())
