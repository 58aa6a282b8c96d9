"""The simplest colouriser: each grey frame takes the chroma of the nearer keyframe as is."""

from __future__ import annotations

from collections.abc import Sequence

from vidfuse.picture import Picture


class NearestKeyframeColouriser:
    name = "nearest"

    def __init__(self, device: str) -> None:
        self.device = "cpu"

    def colourise(self, grey: Sequence[Picture], before: Picture | None,
                  after: Picture | None) -> list[Picture]:
        results = []
        for frame in grey:
            near_before = after is None or (
                before is not None and frame.time - before.time <= after.time - frame.time)
            source = before if near_before else after
            if source is None:
                raise ValueError("a colouriser needs at least one keyframe")
            results.append(Picture(frame.y, source.u, source.v, frame.bits, frame.time))
        return results
