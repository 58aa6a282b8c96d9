"""The frame-rate stage: which pairs an engine sees, with what look-ahead, and how many new
frames it holds."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from fractions import Fraction

import numpy as np

from vidfuse.framerate import StreamCounts, convert_frame_rate
from vidfuse.picture import Picture
from vidfuse.scene import SceneCutDetector
from vidfuse.timeline import FactorSchedule, RateSchedule


class RecordingEngine:
    """Records (a, b, after) times of each call and the resets between them."""

    name = "recording"
    device = "cpu"

    def __init__(self) -> None:
        self.calls: list[tuple[float, float, float | None] | str] = []

    def interpolate(self, a: Picture, b: Picture, ts: Sequence[float],
                    after: Picture | None = None) -> Iterator[Picture]:
        self.calls.append((a.time, b.time, after.time if after is not None else None))
        return iter([a] * len(ts))

    def reset(self) -> None:
        self.calls.append("reset")


def flat(level: int, time: float) -> Picture:
    return Picture(np.full((16, 16), level, np.uint8), np.full((8, 8), 128, np.uint8),
                   np.full((8, 8), 128, np.uint8), 8, time)


def test_engine_looks_ahead_within_the_shot_only() -> None:
    """Frames 0-2 dark, 3-4 bright: the gap 2->3 is a cut, 4 is the last frame."""
    pictures = [flat(level, i / 25) for i, level in enumerate([20, 20, 20, 230, 230])]
    engine = RecordingEngine()
    counts = StreamCounts()
    out = list(convert_frame_rate(pictures, engine, FactorSchedule(2, Fraction(25),
                                                                   Fraction(1, 12800)),
                                  SceneCutDetector(0.3), counts))
    assert len(out) == 10 and counts.scene_cuts == 1
    assert engine.calls == [(0.0, 0.04, 0.08), (0.04, 0.08, None), "reset",
                            (0.12, 0.16, None)]


def test_a_long_gap_is_made_one_picture_at_a_time() -> None:
    """A screen recording idle for 30 s, at --fps 60: 1799 new frames, and never more than
    one of them made before the one before it has gone on (flat memory, however long the
    pause)."""
    taken = [0]
    ahead: list[int] = []

    class CountingEngine(RecordingEngine):
        def interpolate(self, a: Picture, b: Picture, ts: Sequence[float],
                        after: Picture | None = None) -> Iterator[Picture]:
            def made() -> Iterator[Picture]:
                for index in range(len(ts)):
                    ahead.append(index - taken[0])
                    yield a
            return made()

    pictures = [flat(10, 0.0), flat(10, 30.0)]
    for _ in convert_frame_rate(pictures, CountingEngine(), RateSchedule(Fraction(60), 0.0),
                                SceneCutDetector(0.3), StreamCounts()):
        taken[0] += 1
    assert len(ahead) == 1799 and max(ahead) <= 1
