"""Cross-fade: the cheapest possible in-between frame, and the floor every engine must beat."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

import numpy as np

from vidfuse.picture import Picture


class BlendInterpolator:
    name = "blend"

    def __init__(self, device: str) -> None:
        # Cheap enough that moving pixels to a GPU would cost more than the arithmetic.
        self.device = "cpu"

    def interpolate(self, a: Picture, b: Picture, ts: Sequence[float],
                    after: Picture | None = None) -> Iterator[Picture]:
        pa, pb = a.planes_float(), b.planes_float()
        return (self._mix(a, b, pa, pb, t) for t in ts)

    @staticmethod
    def _mix(a: Picture, b: Picture, pa: tuple[np.ndarray, ...], pb: tuple[np.ndarray, ...],
             t: float) -> Picture:
        y, u, v = (pa_i + (pb_i - pa_i) * t for pa_i, pb_i in zip(pa, pb, strict=True))
        made = Picture.from_float(y, u, v, bits=a.bits, time=a.time)
        if a.alpha is None or b.alpha is None:
            return made
        alpha = np.round(a.alpha + (b.alpha.astype(np.float32) - a.alpha) * t)
        return dataclasses.replace(made, alpha=alpha.astype(a.alpha.dtype))

    def reset(self) -> None:
        """A cross-fade carries no state."""
