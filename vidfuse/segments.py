"""Cutting one long video into segments that are made apart and joined into the single
pass's output, frame for frame.

A planning pass decodes the input once, cheaply (no interpolation), and records what a
segment cannot see for itself: each frame's time, the scene cuts, the repeats ``--dedup``
drops. Boundaries go at scene cuts near every ``--segment`` seconds, else at the frame
nearest that time. Each segment then decodes from a little before its first frame: the
*context* that puts every stage in the state a single pass would have there (the engine's
previous pair, the last colour keyframe, the deinterlacer's previous field), and it makes
only the output frames of the gaps that start inside it (`vidfuse.framerate.Window`).

Where a stage carries state from arbitrarily far back (the learned engine's memory, the
reference or keyframe images of fusion), boundaries go at scene cuts only, where that state
starts afresh; where nothing can be cut exactly, the video is one segment.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from vidfuse.colourisers import Colouriser
from vidfuse.dedup import MAX_REPEATS, KnownRepeats, RepeatDetector
from vidfuse.engines import Interpolator
from vidfuse.errors import Cancelled
from vidfuse.framerate import StreamCounts, Window
from vidfuse.fusion import FusionCounts
from vidfuse.options import UpscaleOptions
from vidfuse.picture import Picture
from vidfuse.pipeline import encoding, keyframe_source, open_sink, schedule_for, stages
from vidfuse.scene import SceneCutDetector
from vidfuse.threads import prefetched
from vidfuse.timeline import RateSchedule, clock
from vidfuse.video.atomic import atomic_output
from vidfuse.video.reader import open_source, packet_index
from vidfuse.video.writer import container_format

# Segments of about this many seconds by default: long enough that the context each one
# decodes again (a few frames, and the seek to the keyframe before) costs little, short
# enough that an interrupted run loses at most a minute of work per worker.
DEFAULT_SEGMENT_SECONDS = 60.0
# A boundary moves to a scene cut this far (as a share of the segment length) either way.
_CUT_REACH = 0.5
# The last segment is not shorter than this share of the length: it joins the one before.
_SHORTEST_LAST = 0.25
# Frames before a segment's first that its context holds: the pair the motion model reads.
_PAIR_BEFORE = 2
# Frames decoded before a segment's context with --deinterlace: bwdif reads the frame before.
_DECODE_MARGIN = 2
# Frames after a segment's end whose --dedup decisions it is given: it reads on past its end
# until its last gap's later frame and the one after it (each up to MAX_REPEATS further).
_LOOKAHEAD = 4 * (MAX_REPEATS + 1)

_PLAN_PROGRESS = 25  # frames between reports of the planning pass
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Segment:
    """One part of the input: the frames ``first`` to ``first + frames - 1`` and the output
    frames of the gaps that start at them; times on the pictures' clock (seconds)."""

    number: int  # from 1
    first: int
    frames: int
    start: float
    end: float  # the next segment's start; infinite for the last
    context: int  # the first frame decoded for it (its state is rebuilt from here)
    context_time: float
    seek: float | None  # where decoding starts (the keyframe before); None: at the top
    repeats: tuple[int, ...] = ()  # the frames --dedup drops, from its context on

    @property
    def window(self) -> Window:
        return Window(self.start, self.end)

    def describe(self, origin: float) -> str:
        """Its time range on the output's clock, as a person reads it."""
        end = "the end" if math.isinf(self.end) else clock(self.end - origin)
        return f"segment {self.number} ({clock(self.start - origin)} to {end})"


@dataclass(frozen=True)
class Plan:
    """The segments of one run and what the planning pass found on the way."""

    segments: tuple[Segment, ...]
    frames: int  # input frames in all
    start_time: float  # the first frame's time: the clock every segment keeps
    repeats: int  # found by the dedup detector (dropped with --dedup, counted without)
    damaged: int  # video packets that could not be decoded
    reason: str = ""  # why the video is one segment, when it is and was asked for more


@dataclass(frozen=True)
class SegmentResult:
    """What making one segment produced (saved beside it for a resumed run)."""

    number: int
    frames_in: int
    frames_out: int
    interpolated: int
    scene_cuts: int
    keyframes: int = 0
    colourised: int = 0
    uncoloured: int = 0
    seconds: float = 0.0
    node: str = ""  # the machine that made it (a Ray node id on a cluster)
    # Seen while decoding it, context included (for the warnings a single pass gives, where
    # the plan did not decode): frames repeating the one before, damaged video packets.
    repeats_seen: int = 0
    damaged: int = 0


def unsplittable(options: UpscaleOptions) -> str | None:
    """Why ``options`` must run as one pass whatever the length, or None."""
    if options.input.is_dir():
        return "an image folder is read as one sequence"
    if options.adapt:
        return "--adapt fine-tunes on the whole video's first keyframes"
    return None


def _cuts_only(options: UpscaleOptions, engine: Interpolator) -> bool:
    """Whether a stage's state reaches back arbitrarily far, except across a scene cut."""
    learned_memory = engine.name == "convlstm"
    return learned_memory or options.reference is not None or options.keyframes is not None


def plan_segments(options: UpscaleOptions, engine: Interpolator, seconds: float,
                  progress: Progress | None = None) -> Plan:
    """The plan for ``options``: segments of about ``seconds`` (fewer, or one, where
    exactness allows no more).

    Where only the frames' times matter (no --dedup, no fusion, the classical engines), the
    container's packets give them, and boundaries go just after its keyframes, where each
    segment's seek lands on its context exactly: encoders put keyframes at scene cuts, so
    these are mostly cuts too. Otherwise one decoding pass finds the cuts and repeats.
    """
    lead = _PAIR_BEFORE + (_DECODE_MARGIN if options.deinterlace else 0)
    if not (options.dedup or options.fusion or _cuts_only(options, engine)):
        indexed = packet_index(options.input, options.span)
        if indexed is not None and len(indexed[0]) >= 2:
            times, keys = indexed
            anchors = [i + lead for i, key in enumerate(keys) if key and i + lead < len(times)]
            return _plan(options, engine, seconds, times, anchors, [], [], 0, "")
    cuts = SceneCutDetector(options.scene_threshold)
    detector = RepeatDetector(options.dedup_threshold)
    times = []
    cut_at: list[int] = []
    repeats: list[int] = []
    with open_source(options.input, options.image_fps, options.span,
                     options.deinterlace) as source:
        previous: Picture | None = None
        for index, picture in enumerate(prefetched(source.pictures())):
            times.append(picture.time)
            if previous is not None and cuts.is_cut(previous, picture):
                cut_at.append(index)
            if detector.is_repeat(picture):
                repeats.append(index)
            previous = picture
            if progress is not None and index % _PLAN_PROGRESS == 0:
                progress(index + 1)
        retimed = source.retimed
        damaged = source.damaged
    reason = "" if not retimed else ("its timestamps go backwards, so frames are timed by "
                                     "their count from there")
    if not reason and _cuts_only(options, engine) and not cut_at:
        reason = "it has no scene cut, the only place this engine or fusion mode can cut"
    return _plan(options, engine, seconds, times, cut_at, cut_at, repeats, damaged, reason)


def _plan(options: UpscaleOptions, engine: Interpolator, seconds: float, times: list[float],
          anchors: list[int], cut_at: list[int], repeats: list[int], damaged: int,
          reason: str) -> Plan:
    """Segments from the frames' ``times``, cut at ``anchors`` near each mark (at anchors
    only where a stage's state reaches back to the last cut)."""
    cuts_only = _cuts_only(options, engine)
    bounds = [0] if reason else _boundaries(times, anchors, seconds, cuts_only)
    segments = []
    for number, first in enumerate(bounds, 1):
        last = bounds[number] if number < len(bounds) else len(times)
        context = first if cuts_only else _context(first, options.dedup,
                                                   options.keyframe_every, cut_at)
        decode_from = max(0, context - (_DECODE_MARGIN if options.deinterlace else 0))
        ahead = last + _LOOKAHEAD
        segments.append(Segment(
            number=number, first=first, frames=last - first,
            start=_between(times, first), end=_between(times, last),
            context=context, context_time=times[context],
            seek=None if first == 0 else times[decode_from],
            repeats=tuple(r for r in repeats if context <= r < ahead) if options.dedup
            else ()))
    return Plan(tuple(segments), len(times), times[0], len(repeats), damaged, reason)


def _between(times: list[float], index: int) -> float:
    """Where a segment starting at frame ``index`` begins: half-way from the frame before,
    so that a frame timed a tick differently by the decoder still falls on its side."""
    if index == 0:
        return -math.inf
    if index >= len(times):
        return math.inf
    return (times[index - 1] + times[index]) / 2


def _boundaries(times: list[float], anchors: list[int], seconds: float,
                cuts_only: bool) -> list[int]:
    """First frames of the segments: at the anchor (a cut, or just after a keyframe) nearest
    each ``seconds`` mark within reach, else (unless ``cuts_only``) at the first frame from
    the mark on."""
    bounds = [0]
    end = times[-1]
    while True:
        start = times[bounds[-1]]
        mark = start + seconds
        if end - mark < _SHORTEST_LAST * seconds:
            return bounds
        near = [c for c in anchors if abs(times[c] - mark) <= _CUT_REACH * seconds]
        if near:
            chosen = min(near, key=lambda c: abs(times[c] - mark))
        elif cuts_only:
            later = [c for c in anchors if times[c] > mark]
            if not later:
                return bounds
            chosen = later[0]
        else:
            chosen = bisect.bisect_left(times, mark)
        if chosen <= bounds[-1] or end - times[chosen] < _SHORTEST_LAST * seconds:
            return bounds
        bounds.append(chosen)


def _context(first: int, dedup: bool, every: int | None, cut_at: list[int]) -> int:
    """The frame a segment starting at ``first`` decodes from, so that its first gap is
    made as in a single pass. The engine reads the pair before (two frames; with --dedup
    the kept frame before may be MAX_REPEATS further back); colour taken from every N-th
    frame reaches back to the keyframe before, or the cut after it."""
    context = max(0, first - (_PAIR_BEFORE + (MAX_REPEATS if dedup else 0)))
    if every is not None:
        key = context - context % every
        after_cut = max((c for c in cut_at if c <= context), default=0)
        context = max(key, after_cut)
    return context


def segment_suffix(options: UpscaleOptions) -> str:
    """The container a segment is written in: MP4 keeps every timestamp exactly (Matroska
    rounds to milliseconds) and any codec but FFV1, which is intra-only and output only to
    Matroska, whose rounding it then shares."""
    return ".mkv" if options.encode.codec == "ffv1" else ".mp4"


class _SeekMissed(Exception):
    """The seek landed after the segment's context (a file with a wrong keyframe index)."""


def make_segment(options: UpscaleOptions, plan: Plan, segment: Segment, target: Path,
                 models: tuple[Interpolator, Colouriser | None],
                 progress: Progress | None = None, cancel: Callable[[], bool] | None = None,
                 node: str = "") -> SegmentResult:
    """Encode one segment's output frames as a video file at ``target`` (written whole or
    not at all), with the encoder the output has; the join copies its packets as they are.
    Where seeking misses its context, the segment decodes from the top instead."""
    try:
        return _make(options, plan, segment, target, models, progress, cancel, node)
    except _SeekMissed:
        return _make(options, plan, dataclasses.replace(segment, seek=None), target, models,
                     progress, cancel, node)


def _make(options: UpscaleOptions, plan: Plan, segment: Segment, target: Path,
          models: tuple[Interpolator, Colouriser | None], progress: Progress | None,
          cancel: Callable[[], bool] | None, node: str) -> SegmentResult:
    engine, colouriser = models
    engine.reset()
    started = time.perf_counter()
    counts, colour_counts = StreamCounts(), FusionCounts()
    with (open_source(options.input, options.image_fps, options.span, options.deinterlace,
                      seek=segment.seek) as source,
          ExitStack() as stack):
        # The whole input's clock: times are snapped to its frame grid, and schedules count
        # their instants from its first frame.
        info = source.info = dataclasses.replace(source.info, start_time=plan.start_time)
        schedule = schedule_for(options, info)
        if isinstance(schedule, RateSchedule):
            schedule.skip_to(segment.context_time)
        keys = keyframe_source(options, info)
        if keys is not None:
            stack.callback(keys.close)
        bare = dataclasses.replace(info, passthrough=[], attachments=[], chapters=[], tags={},
                                   video_tags={})
        # The output's codec, named before the segment's container could choose another.
        encode = dataclasses.replace(
            options.encode.for_output(container_format(options.output), info.colour),
            keep_audio=False)
        with atomic_output(target) as temp:
            sink = open_sink(dataclasses.replace(options, output=target, encode=encode),
                             bare, schedule, temp, lambda message: None)
            # Encoding on its own thread, overlapping the engine, as in a single pass.
            with encoding(sink) as encoder:
                slack = 0.25 / float(info.frame_rate)
                decoded = prefetched(_from_context(source.pictures(), segment, slack))
                stack.callback(decoded.close)
                # --dedup replays the plan's decisions; without it, repeats are only counted.
                repeats = (KnownRepeats(segment.repeats, segment.context) if options.dedup
                           else RepeatDetector(options.dedup_threshold))
                made = stages(_counted(decoded, segment, progress), options, engine,
                              colouriser, keys, schedule, repeats, counts, colour_counts,
                              first_index=segment.context, window=segment.window)
                for picture in made:
                    if cancel is not None and cancel():
                        raise Cancelled("stopped on request")
                    encoder.submit(partial(sink.write, picture))
            sink.close()
    return SegmentResult(segment.number, segment.frames, counts.frames_out,
                         counts.interpolated, counts.scene_cuts, colour_counts.keyframes,
                         colour_counts.colourised, colour_counts.uncoloured,
                         time.perf_counter() - started, node, repeats.found, source.damaged)


def _from_context(pictures: Iterable[Picture], segment: Segment, slack: float
                  ) -> Iterator[Picture]:
    """The pictures from the segment's context on (a seek lands on the keyframe before)."""
    first = True
    for picture in pictures:
        if first and picture.time > segment.context_time + slack:
            raise _SeekMissed
        first = False
        if picture.time >= segment.context_time - slack:
            yield picture


def _counted(pictures: Iterable[Picture], segment: Segment, progress: Progress | None
             ) -> Iterator[Picture]:
    """The decoded pictures, the segment's own counted as they pass (for progress)."""
    done = 0
    for picture in pictures:
        if (progress is not None and done < segment.frames
                and segment.start <= picture.time < segment.end):
            done += 1
            progress(done)
        yield picture
