"""Where output frames fall in time, from the input's real timestamps.

A schedule turns each gap between two consecutive input frames into a list of output slots,
each a fraction ``t`` of the way from the earlier frame to the later one (``t == 0`` is the
earlier frame itself, passed through untouched). Working from real timestamps keeps motion in
sync with audio on variable-frame-rate input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

# A slot closer than this to an input frame (as a fraction of the gap) reuses that frame.
_SNAP = 1e-6


@dataclass(frozen=True)
class Slot:
    """One output frame: ``t`` in [0, 1) between two input frames, shown at ``time`` seconds."""

    t: float
    time: float


class Schedule(Protocol):
    """Decides the output frames between and after input frames."""

    rate: Fraction
    time_base: Fraction

    def between(self, start: float, end: float) -> list[Slot]:
        """Slots in [start, end) for the gap between two input frames."""
        ...

    def tail(self, last: float, duration: float) -> list[Slot]:
        """Slots after the final input frame, which is shown for ``duration`` seconds."""
        ...


def exact_time_base(time_base: Fraction, rate: Fraction) -> Fraction:
    """A time base that holds both every tick of ``time_base`` and every frame instant of
    ``rate`` exactly (1/1000 cannot hold 1/60 s: a 60 fps output would jitter by a tick).

    Falls back to ``time_base`` where the common one would overflow a 32-bit timescale.
    """
    common = Fraction(1, math.lcm(time_base.denominator, rate.numerator))
    return common if common.denominator < 2**31 else time_base


class FactorSchedule:
    """``factor`` output frames per input frame, evenly spaced between real timestamps.

    With ``fill_gaps`` (input whose repeated frames were dropped: `vidfuse.dedup`), a gap as
    long as n frames at ``input_rate`` gets n times as many output frames, so the output keeps
    its rate across it; otherwise each gap gets ``factor``, which keeps a variable-rate
    input's timing.
    """

    def __init__(self, factor: int, input_rate: Fraction, input_time_base: Fraction,
                 fill_gaps: bool = False) -> None:
        self.factor = factor
        self.rate = input_rate * factor
        self.time_base = exact_time_base(input_time_base / factor, self.rate)
        self._frame = float(1 / input_rate) if fill_gaps else None

    def _count(self, duration: float) -> int:
        """Output frames for ``duration`` seconds after an input frame."""
        frames = 1 if self._frame is None else max(1, round(duration / self._frame))
        return self.factor * frames

    def between(self, start: float, end: float) -> list[Slot]:
        count = self._count(end - start)
        step = (end - start) / count
        return [Slot(k / count, start + k * step) for k in range(count)]

    def tail(self, last: float, duration: float) -> list[Slot]:
        # The last gap may span dropped repeats; the final frame lasts one input frame.
        duration = duration if self._frame is None else self._frame
        step = duration / self.factor
        return [Slot(0.0, last + k * step) for k in range(self.factor)]


class RateSchedule:
    """A constant output rate; each output instant is placed between the input frames around it."""

    def __init__(self, rate: Fraction, start: float) -> None:
        self.rate = rate
        self.time_base = 1 / rate
        self._start = start
        self._next = 0  # index of the next output frame to place

    def _instant(self, index: int) -> float:
        return self._start + index / float(self.rate)

    def skip_to(self, time: float) -> None:
        """Start placing at the last instant before ``time``: a segment of a long video
        (`vidfuse.segments`) does not walk every instant from the start to its own."""
        self._next = max(self._next, math.floor((time - self._start) * float(self.rate)))

    def between(self, start: float, end: float) -> list[Slot]:
        slots = []
        gap = end - start
        while (instant := self._instant(self._next)) < end - _SNAP * gap:
            t = max(0.0, (instant - start) / gap)
            slots.append(Slot(0.0 if t < _SNAP else t, instant))
            self._next += 1
        return slots

    def tail(self, last: float, duration: float) -> list[Slot]:
        count = max(0, math.ceil((last + duration - self._instant(self._next)) * float(self.rate)
                                 - _SNAP))
        slots = [Slot(0.0, self._instant(self._next + k)) for k in range(count)]
        self._next += count
        return slots


class SlowMotion:
    """Slow motion: another schedule's frames at its rate divided by ``slowdown``, so the
    video plays that many times longer (from ``start``, the first frame's time)."""

    def __init__(self, schedule: Schedule, slowdown: int, start: float) -> None:
        self._schedule = schedule
        self._slowdown = slowdown
        self._start = start
        self.rate = schedule.rate / slowdown
        self.time_base = schedule.time_base  # times stretched by a whole number stay exact

    def stretch(self, time: float) -> float:
        """Where an instant of the input lands in the slowed output."""
        return self._start + (time - self._start) * self._slowdown

    def _stretched(self, slots: list[Slot]) -> list[Slot]:
        return [Slot(slot.t, self.stretch(slot.time)) for slot in slots]

    def between(self, start: float, end: float) -> list[Slot]:
        return self._stretched(self._schedule.between(start, end))

    def tail(self, last: float, duration: float) -> list[Slot]:
        return self._stretched(self._schedule.tail(last, duration))


def clock(seconds: float) -> str:
    """A time as people read it in messages: 1:05.0, or 1:02:03.4 past the hour."""
    minutes, rest = divmod(max(0.0, seconds), 60)
    hours, minutes = divmod(int(minutes), 60)
    return (f"{hours}:{minutes:02d}:{rest:04.1f}" if hours else f"{minutes}:{rest:04.1f}")
