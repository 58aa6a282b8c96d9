"""The unit of work between decoder, engines and encoder: planar YUV samples plus a timestamp."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")


@dataclass(frozen=True)
class Picture:
    """One frame as three planes of integer samples (Y full size, U/V possibly subsampled).

    Samples stay in the source's own integer code values (8-bit or high bit depth) so that a
    frame passed through untouched is written back bit-exactly; engines work in floats via
    :meth:`planes_float` and come back through :meth:`from_float`.
    """

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    bits: int
    time: float
    # Opacity, full size, in the same code values as luma (the maximum is opaque); None for
    # opaque video. Engines move it with the picture.
    alpha: np.ndarray | None = field(default=None, compare=False, repr=False)
    # The RGB(A) samples an image input decoded to, while the planes are still theirs: PNG
    # output writes these back, so kept frames stay bit-exact (the YUV planes are exact
    # only to a code value). Anything that makes new planes leaves it out.
    rgb: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def max_value(self) -> int:
        return (1 << self.bits) - 1

    @property
    def opacity(self) -> np.ndarray:
        """The alpha plane; a fully opaque one for a picture made without it (an
        interpolated frame between opaque ones, a colourised frame)."""
        if self.alpha is not None:
            return self.alpha
        return np.full_like(self.y, self.max_value)

    @property
    def width(self) -> int:
        return int(self.y.shape[1])

    @property
    def height(self) -> int:
        return int(self.y.shape[0])

    def planes_float(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Planes scaled to [0, 1] float32, the range every engine computes in."""
        scale = np.float32(1.0 / self.max_value)
        return (
            self.y.astype(np.float32) * scale,
            self.u.astype(np.float32) * scale,
            self.v.astype(np.float32) * scale,
        )

    @property
    def has_colour(self) -> bool:
        """False for greyscale: chroma within a code value (8-bit scale) of neutral on average.

        Lossy coding leaves a little chroma noise on grey video; real colour is far above it.
        """
        neutral = 1 << (self.bits - 1)
        scale = 255.0 / self.max_value
        deviation = max(float(np.abs(plane.astype(np.int32) - neutral).mean()) * scale
                        for plane in (self.u, self.v))
        return deviation > 1.0

    def greyed(self) -> Picture:
        """The same luma with neutral chroma."""
        neutral = 1 << (self.bits - 1)
        return Picture(self.y, np.full_like(self.u, neutral), np.full_like(self.v, neutral),
                       self.bits, self.time, self.alpha)

    def with_chroma_of(self, other: Picture) -> Picture:
        """This picture's luma with ``other``'s chroma (same layout)."""
        return Picture(self.y, other.u, other.v, self.bits, self.time, self.alpha)

    def with_time(self, time: float) -> Picture:
        return Picture(self.y, self.u, self.v, self.bits, time, self.alpha, self.rgb)

    @staticmethod
    def from_float(
        y: np.ndarray, u: np.ndarray, v: np.ndarray, bits: int, time: float
    ) -> Picture:
        """Quantise [0, 1] float planes back to integer code values of ``bits`` depth."""
        peak = (1 << bits) - 1
        dtype = np.uint8 if bits <= 8 else np.uint16

        def quantise(plane: np.ndarray) -> np.ndarray:
            return np.clip(plane * peak + 0.5, 0, peak).astype(dtype)

        return Picture(quantise(y), quantise(u), quantise(v), bits, time)


class PerLuma(Generic[T]):
    """Remembers ``compute(picture)`` for the last ``keep`` pictures, keyed by their luma plane.

    Consecutive pairs (a, b), (b, c) share a picture, so what is derived from a frame's luma
    (its flow-resolution copy, its scene-cut summary) is computed once, not twice. Copies
    made by ``with_time``, ``greyed`` or ``with_chroma_of`` share the luma array and hit too.
    """

    def __init__(self, compute: Callable[[Picture], T], keep: int = 2) -> None:
        self._compute = compute
        self._keep = keep
        self._entries: list[tuple[np.ndarray, T]] = []

    def __call__(self, picture: Picture) -> T:
        for plane, value in self._entries:
            if plane is picture.y:
                return value
        value = self._compute(picture)
        self._entries = [*self._entries, (picture.y, value)][-self._keep:]
        return value
