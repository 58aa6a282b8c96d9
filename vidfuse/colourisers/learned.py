"""The learned colouriser: aligned keyframe colour re-weighted by the trained autoencoder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from vidfuse.colourisers.alignment import (
    AlignedKeyframe,
    KeyframeAligner,
    candidate_weights,
    temporal_weight,
    with_chroma,
)
from vidfuse.nets.interpolator import net_divisor
from vidfuse.nets.tensors import image_array, image_tensor
from vidfuse.picture import Picture
from vidfuse.weights.networks import load_network


class AutoencoderColouriser:
    name = "ae"

    def __init__(self, device: str, weights: str | Path | None = None) -> None:
        self.device = device
        self._model = load_network("colour", weights).to(device,
                                                         memory_format=torch.channels_last)  # type: ignore[call-overload]
        self._aligner = KeyframeAligner()

    @property
    def model(self) -> torch.nn.Module:
        """The network, for `vidfuse.adapt` to fine-tune on a video's own keyframes."""
        return self._model

    def colourise(self, grey: Sequence[Picture], before: Picture | None,
                  after: Picture | None) -> list[Picture]:
        if before is None and after is None:
            raise ValueError("a colouriser needs at least one keyframe")
        results = []
        on_gpu = self.device.startswith("cuda")
        for frame, candidates in zip(grey, self._aligner.align_gap(grey, before, after),
                                     strict=True):
            luma = frame.y.astype(np.float32) * np.float32(1.0 / frame.max_value)
            weights = candidate_weights(temporal_weight(frame, before, after))
            inputs = candidate_tensors(candidates, weights, self.device)
            # Half precision on GPUs; the CPU path stays float32 (same weights either way).
            with torch.inference_mode(), torch.autocast("cuda", torch.float16, enabled=on_gpu):
                chroma = self._model(image_tensor(luma, self.device), *inputs,
                                     net_divisor(frame.width))
            results.append(with_chroma(frame, image_array(chroma)))
        return results


def candidate_tensors(candidates: Sequence[AlignedKeyframe], weights: np.ndarray,
                      device: str) -> tuple[torch.Tensor, ...]:
    """Aligned candidates as the network takes them: lumas, chromas, confidences, weights
    (each with a batch dimension of 1)."""
    lumas = np.stack([c.luma for c in candidates])[None]
    chromas = np.stack([c.chroma.transpose(2, 0, 1) for c in candidates])[None]
    confidences = np.stack([c.confidence for c in candidates])[None]
    return tuple(torch.from_numpy(np.ascontiguousarray(a)).to(device)
                 for a in (lumas, chromas, confidences, weights[None]))
