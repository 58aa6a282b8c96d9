"""The learned colouriser: aligned keyframe colour corrected by the trained autoencoder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from vidfuse.colourisers import register
from vidfuse.colourisers.alignment import KeyframeAligner, temporal_weight, with_chroma
from vidfuse.nets.interpolator import net_divisor
from vidfuse.nets.tensors import image_array, image_tensor
from vidfuse.picture import Picture
from vidfuse.weights import NETWORKS, load_network


@register("ae", f"learned: warped keyframe colour corrected by an encoder-decoder (weights "
                f"'{NETWORKS['colour'][1]}')")
class AutoencoderColouriser:
    name = "ae"

    def __init__(self, device: str, weights: str | Path | None = None) -> None:
        self.device = device
        self._model = load_network("colour", weights).to(device,
                                                         memory_format=torch.channels_last)
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
        for frame in grey:
            weight = temporal_weight(frame, before, after)
            first = self._aligner.align(frame, before or after)  # type: ignore[arg-type]
            second = self._aligner.align(frame, after) if before and after else first
            luma = frame.y.astype(np.float32) * np.float32(1.0 / frame.max_value)

            def tensor(array: np.ndarray) -> torch.Tensor:
                return image_tensor(array, self.device)

            on_gpu = self.device.startswith("cuda")
            with torch.inference_mode(), torch.autocast("cuda", torch.float16, enabled=on_gpu):
                chroma = self._model(
                    tensor(luma), tensor(first.luma), tensor(second.luma),
                    tensor(first.chroma), tensor(second.chroma),
                    tensor(first.confidence), tensor(second.confidence),
                    torch.tensor([weight], device=self.device), net_divisor(frame.width))
            results.append(with_chroma(frame, image_array(chroma)))
        return results
