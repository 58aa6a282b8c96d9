"""Classical colouriser: keyframe chroma warped by DIS flow, blended by confidence and time."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vidfuse.colourisers.alignment import KeyframeAligner, temporal_weight, with_chroma
from vidfuse.picture import Picture


class FlowWarpColouriser:
    name = "flow"

    def __init__(self, device: str) -> None:
        self.device = "cpu"
        self._aligner = KeyframeAligner()

    def colourise(self, grey: Sequence[Picture], before: Picture | None,
                  after: Picture | None) -> list[Picture]:
        results = []
        for frame in grey:
            keys = [(k, w) for k, w in ((before, temporal_weight(frame, before, after)),
                                        (after, 1 - temporal_weight(frame, before, after)))
                    if k is not None]
            weighted, total = [], []
            for key, weight in keys:
                aligned = self._aligner.align(frame, key)
                trust = (weight * aligned.confidence + 1e-4)[..., None]
                weighted.append(aligned.chroma * trust)
                total.append(trust)
            if not weighted:
                raise ValueError("a colouriser needs at least one keyframe")
            results.append(with_chroma(frame, sum(weighted) / np.maximum(sum(total), 1e-6)))
        return results
