"""The learned colouriser: aligned keyframe colour corrected by the trained autoencoder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from vidfuse.colourisers import register
from vidfuse.colourisers.alignment import KeyframeAligner, temporal_weight, with_chroma
from vidfuse.nets.interpolator import net_divisor
from vidfuse.picture import Picture
from vidfuse.weights import NETWORKS, load_network


@register("ae", f"learned: warped keyframe colour corrected by an encoder-decoder (weights "
                f"'{NETWORKS['colour'][1]}')")
class AutoencoderColouriser:
    name = "ae"

    def __init__(self, device: str, weights: str | Path | None = None) -> None:
        self.device = device
        self._model = load_network("colour", weights).to(device)
        self._aligner = KeyframeAligner()

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
            on_gpu = self.device.startswith("cuda")
            with torch.inference_mode(), torch.autocast("cuda", torch.float16, enabled=on_gpu):
                chroma = self._model(
                    self._tensor(luma), self._tensor(first.luma), self._tensor(second.luma),
                    self._tensor(first.chroma), self._tensor(second.chroma),
                    self._tensor(first.confidence), self._tensor(second.confidence),
                    torch.tensor([weight], device=self.device), net_divisor(frame.width))
            results.append(with_chroma(frame, chroma[0].permute(1, 2, 0).float().cpu().numpy()))
        return results

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        if array.ndim == 2:
            array = array[..., None]
        return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None].to(
            self.device)
