"""Output frame placement for factor and target-rate conversion."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

from vidfuse.timeline import FactorSchedule, RateSchedule


def place(schedule: FactorSchedule | RateSchedule, times: list[float],
          last_duration: float) -> list[tuple[int, float, float]]:
    """(index of the earlier input frame, t, output time) for every output frame."""
    slots = []
    for index, (start, end) in enumerate(itertools.pairwise(times)):
        slots += [(index, s.t, s.time) for s in schedule.between(start, end)]
    slots += [(len(times) - 1, s.t, s.time) for s in schedule.tail(times[-1], last_duration)]
    return slots


def test_factor_four_spaces_frames_evenly_and_repeats_the_last() -> None:
    schedule = FactorSchedule(4, Fraction(25), Fraction(1, 12800))
    slots = place(schedule, [0.0, 0.04, 0.08], 0.04)
    assert [s[1] for s in slots] == [0, 0.25, 0.5, 0.75] * 2 + [0, 0, 0, 0]
    assert np.allclose([s[2] for s in slots], np.arange(12) * 0.01)
    assert schedule.rate == 100 and schedule.time_base == Fraction(1, 51200)


@pytest.mark.parametrize(("rate_in", "rate_out"), [(Fraction(24000, 1001), Fraction(60)),
                                                   (Fraction(25), Fraction(30)),
                                                   (Fraction(30), Fraction(25))])
def test_target_rate_keeps_duration_and_places_by_timestamp(rate_in: Fraction,
                                                            rate_out: Fraction) -> None:
    count = 48
    times = [float(i / rate_in) for i in range(count)]
    slots = place(RateSchedule(rate_out, start=0.0), times, float(1 / rate_in))
    duration = count / rate_in
    assert len(slots) == int(np.ceil(float(duration * rate_out) - 1e-9))
    assert np.allclose(np.diff([s[2] for s in slots]), float(1 / rate_out))
    for index, t, time in slots:
        assert 0 <= t < 1
        if index < count - 1:
            assert times[index] + t / float(rate_in) == pytest.approx(time, abs=1e-9)
        else:  # after the last input frame: it is repeated until the duration is filled
            assert t == 0 and times[-1] <= time < float(duration)


def test_target_rate_reuses_input_frames_that_coincide() -> None:
    slots = place(RateSchedule(Fraction(50), start=1.0), [1.0, 1.04, 1.08], 0.04)
    assert [(i, t) for i, t, _ in slots] == [(0, 0), (0, 0.5), (1, 0), (1, 0.5), (2, 0), (2, 0)]


def test_filling_gaps_keeps_the_rate_across_dropped_frames() -> None:
    # Frame 1 was dropped as a repeat (vidfuse.dedup): its gap gets twice the new frames.
    times = [0.0, 0.08, 0.12]
    filled = place(FactorSchedule(2, Fraction(25), Fraction(1, 12800), fill_gaps=True),
                   times, 0.04)
    assert [s[1] for s in filled] == [0, 0.25, 0.5, 0.75, 0, 0.5, 0, 0]
    assert np.allclose([s[2] for s in filled], np.arange(8) * 0.02)
    kept = place(FactorSchedule(2, Fraction(25), Fraction(1, 12800)), times, 0.04)
    assert np.allclose([s[2] for s in kept], [0, 0.04, 0.08, 0.1, 0.12, 0.14])  # as it was
