"""Cross-fade: the cheapest possible in-between frame, and the floor every engine must beat."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from vidfuse.picture import Picture


class BlendInterpolator:
    name = "blend"

    def __init__(self, device: str) -> None:
        # Cheap enough that moving pixels to a GPU would cost more than the arithmetic.
        self.device = "cpu"

    def interpolate(self, a: Picture, b: Picture, ts: Sequence[float],
                    after: Picture | None = None) -> Iterator[Picture]:
        pa, pb = a.planes_float(), b.planes_float()
        return (
            Picture.from_float(*(pa_i + (pb_i - pa_i) * t for pa_i, pb_i in zip(pa, pb,
                                                                                 strict=True)),
                               bits=a.bits, time=a.time)
            for t in ts
        )

    def reset(self) -> None:
        """A cross-fade carries no state."""
