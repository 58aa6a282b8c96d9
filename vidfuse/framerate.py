"""The frame-rate stage: input pictures in, output pictures out, three frames held."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from vidfuse.engines import Interpolator
from vidfuse.errors import InputError
from vidfuse.picture import Picture
from vidfuse.scene import SceneCutDetector
from vidfuse.timeline import Schedule


@dataclass
class StreamCounts:
    """Live counters, read by progress displays while the stream runs."""

    frames_in: int = 0  # reaching the interpolation stage
    repeats: int = 0  # dropped before it (vidfuse.dedup)
    frames_out: int = 0
    interpolated: int = 0
    scene_cuts: int = 0

    @property
    def frames_read(self) -> int:
        """Input frames consumed so far, repeats dropped included."""
        return self.frames_in + self.repeats


@dataclass(frozen=True)
class Window:
    """The part of the output one segment of a video makes (`vidfuse.segments`): the frames
    of the gaps whose earlier input frame is shown in [start, end). Each gap belongs to
    exactly one segment, so segments made apart join into the single pass's output."""

    start: float = -math.inf
    end: float = math.inf


EVERYTHING = Window()


def convert_frame_rate(pictures: Iterable[Picture], engine: Interpolator, schedule: Schedule,
                       cuts: SceneCutDetector, counts: StreamCounts,
                       window: Window = EVERYTHING) -> Iterator[Picture]:
    """Yield the output pictures in order; input frames pass through untouched.

    Across a detected scene cut the earlier frame is repeated instead of interpolated, and the
    engine's temporal state is reset. A gap is filled once the frame after it has arrived
    (the engine may look ahead to it), so three input frames are held at a time.

    With a ``window``, the gaps before it are still filled, for the state they leave in the
    engine and the schedule, but their frames are dropped (and not counted); the stream stops
    being read once the window's last gap is filled.
    """
    previous: Picture | None = None
    waiting: tuple[Picture, Picture, bool] | None = None  # a gap and whether it is a cut
    last_gap = 0.0
    for picture in pictures:
        counts.frames_in += 1
        if previous is not None:
            last_gap = picture.time - previous.time
            cut = cuts.is_cut(previous, picture)
            if waiting is not None:
                if waiting[0].time >= window.end:
                    return
                yield from _owned_gap(*waiting, None if cut else picture, engine, schedule,
                                      counts, window)
            waiting = (previous, picture, cut)
        previous = picture
    if waiting is None or previous is None:
        raise InputError(
            f"the input has {counts.frames_in} frame(s); at least 2 are needed to interpolate"
        )
    if waiting[0].time >= window.end:
        return
    yield from _owned_gap(*waiting, None, engine, schedule, counts, window)
    for slot in schedule.tail(previous.time, last_gap):
        counts.frames_out += 1
        yield previous.with_time(slot.time)


def _owned_gap(a: Picture, b: Picture, cut: bool, after: Picture | None,
               engine: Interpolator, schedule: Schedule, counts: StreamCounts, window: Window
               ) -> Iterator[Picture]:
    if a.time >= window.start:
        yield from _fill_gap(a, b, cut, after, engine, schedule, counts)
        return
    # Context before the window: the same calls as a single pass makes, results dropped.
    for _ in _fill_gap(a, b, cut, after, engine, schedule, StreamCounts()):
        pass


def _fill_gap(a: Picture, b: Picture, cut: bool, after: Picture | None, engine: Interpolator,
              schedule: Schedule, counts: StreamCounts) -> Iterator[Picture]:
    slots = schedule.between(a.time, b.time)
    if not slots:
        return
    new: Iterable[Picture]
    if cut:
        counts.scene_cuts += 1
        engine.reset()
        new = [a] * len(slots)
    else:
        wanted = [slot.t for slot in slots if slot.t > 0]
        made = engine.interpolate(a, b, wanted, after)
        counts.interpolated += len(wanted)
        # Taken one at a time: a gap of thousands of frames holds one of them at once.
        new = (a if slot.t == 0 else next(made) for slot in slots)
    for picture, slot in zip(new, slots, strict=True):
        counts.frames_out += 1
        yield picture.with_time(slot.time)
