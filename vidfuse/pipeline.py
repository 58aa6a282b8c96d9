"""The pipeline of one run: where the stages meet (source, colour, dedup, frame rate, sink)."""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from vidfuse.colourisers import Colouriser
from vidfuse.dedup import (
    KnownRepeats,
    RepeatDetector,
    drop_repeats,
    repeat_hint,
    watch_repeats,
)
from vidfuse.engines import Interpolator
from vidfuse.errors import Cancelled
from vidfuse.framerate import EVERYTHING, StreamCounts, Window, convert_frame_rate
from vidfuse.fusion import DEFAULT_ADAPT_STEPS, FusionCounts, check_input, colourise_stream
from vidfuse.keyframes import EveryNthKeyframe, ImageKeyframes, KeyframeSource, ReferenceKeyframes
from vidfuse.options import Observer, UpscaleOptions, UpscaleResult
from vidfuse.picture import Picture
from vidfuse.scene import SceneCutDetector
from vidfuse.sync import find_offset
from vidfuse.threads import BackgroundCalls, prefetched
from vidfuse.timeline import FactorSchedule, RateSchedule, Schedule, SlowMotion, clock
from vidfuse.video.atomic import atomic_output
from vidfuse.video.media import Sink, SourceInfo, Warn, counted
from vidfuse.video.pipes import is_pipe
from vidfuse.video.reader import open_source
from vidfuse.video.writer import (
    FrameDirectorySink,
    VideoFileSink,
    output_kind,
)

if TYPE_CHECKING:
    from vidfuse.adapt import AdaptReport


def run(options: UpscaleOptions, engine: Interpolator, colouriser: Colouriser | None,
        observer: Observer, cancel: threading.Event | None = None) -> UpscaleResult:
    """One pass over the input: source -> colour -> dedup -> frame rate -> sink, with the
    sink's muxing on its own thread and decoding ahead on another; the output appears only
    when complete. ``options`` are validated and the models built (:func:`vidfuse.upscale`).

    The input is opened once for this pass, and once more each for what must be read ahead
    of it: the reference's clock offset (``--reference-offset auto``) and the keyframes to
    fine-tune on (``--adapt``).
    """
    engine.reset()
    started = time.perf_counter()
    counts = StreamCounts()
    colour_counts = FusionCounts()
    with (open_source(options.input, options.image_fps, options.span,
                      options.deinterlace) as source,
          ExitStack() as stack):
        info = source.info
        schedule = schedule_for(options, info)
        synced = None
        if options.reference is not None and options.reference_offset is None:
            synced = find_offset(options.input, options.reference)
            options = dataclasses.replace(options, reference_offset=synced.offset)
        keys = keyframe_source(options, info)
        if keys is not None:
            stack.callback(keys.close)
        observer.started(info, engine)
        warn_about_source(info, options.deinterlace, observer)
        adapted = _adapt(options, info, colouriser, observer) if colouriser else None
        with atomic_output(options.output) as temp:
            sink = open_sink(options, info, schedule, temp, observer.warning)
            # Decoding runs ahead in one thread and muxing behind in another, overlapping
            # both with the engine; all muxing (video and copied packets) stays on one thread.
            with encoding(sink) as encoder:
                source.route_packets(lambda packet: encoder.submit(partial(sink.packet, packet)))
                decoded = prefetched(source.pictures())
                # Stop the decode thread before the source closes, even when a stage fails
                # (a traceback would otherwise keep it decoding from a closed container).
                stack.callback(decoded.close)
                repeats = RepeatDetector(options.dedup_threshold)
                made = stages(decoded, options, engine, colouriser, keys, schedule, repeats,
                              counts, colour_counts)
                for picture in made:
                    if cancel is not None and cancel.is_set():
                        raise Cancelled("stopped on request; no output was written")
                    encoder.submit(partial(sink.write, picture))
                    observer.advanced(counts)
            if not options.dedup and (hint := repeat_hint(repeats.found, counts.frames_in)):
                observer.warning(hint)
            if (stopped := source.ends_early()) is not None:
                observer.warning(f"input ends early at {clock(stopped)}: the file looks "
                                 "truncated (the output stops there too)")
            if source.damaged:
                observer.warning(f"{source.damaged} damaged video packet(s) skipped: their "
                                 "frames are missing, and the frames around them are "
                                 "interpolated across")
            if colour_counts.uncoloured:
                observer.warning(f"{colour_counts.uncoloured} frame(s) in shots without a "
                                 "keyframe were left grey")
            sink.close()
    return UpscaleResult(
        output=options.output,
        engine=engine.name,
        device=engine.device,
        frames_in=counts.frames_read,
        frames_out=counts.frames_out,
        interpolated=counts.interpolated,
        scene_cuts=counts.scene_cuts,
        seconds=time.perf_counter() - started,
        repeats=counts.repeats,
        colouriser=colouriser.name if colouriser else None,
        keyframes=colour_counts.keyframes,
        colourised=colour_counts.colourised,
        adapted=adapted,
        synced=synced,
    )



@contextmanager
def encoding(sink: Sink) -> Iterator[BackgroundCalls[None]]:
    """The thread that feeds ``sink`` (pictures to encode, packets to mux) while the caller
    computes; it is drained when the block ends, and on any failure stopped and the sink
    abandoned."""
    encoder: BackgroundCalls[None] = BackgroundCalls()
    try:
        yield encoder
        encoder.finish()
    except BaseException:
        encoder.cancel()
        sink.abort()
        raise


def warn_about_source(info: SourceInfo, deinterlace: bool, observer: Observer
                       ) -> None:
    """What the input has that the output cannot do justice to."""
    if info.icc_profile:
        observer.warning("input has an ICC colour profile, which the output does not carry: "
                         "its colours are taken as the colour tags say (sRGB for images)")
    if info.interlaced and not deinterlace:
        observer.warning("input is interlaced: each frame holds two fields, so the new "
                         "frames will smear their combing; --deinterlace rebuilds each "
                         "frame whole first")


def _adapt(options: UpscaleOptions, info: SourceInfo, colouriser: Colouriser,
           observer: Observer) -> AdaptReport | None:
    """Fine-tune the learned colouriser on the first keyframes (a separate decoding pass)."""
    from vidfuse.adapt import adapt, adaptable, collect_keyframes  # torch: only when used

    steps = options.adapt
    if steps is None:  # a pipe cannot be read twice (validate refuses an explicit count)
        steps = (DEFAULT_ADAPT_STEPS if adaptable(colouriser) and not is_pipe(options.input)
                 else 0)
    if steps == 0:
        return None
    cuts = SceneCutDetector(options.scene_threshold)
    with (open_source(options.input, options.image_fps, options.span,
                      options.deinterlace) as source,
          ExitStack() as stack):
        keys = keyframe_source(options, info)
        assert keys is not None
        stack.callback(keys.close)
        pictures = source.pictures()
        first = next(pictures)
        check_input(first, keys, options.grey)
        shots = collect_keyframes(itertools.chain([first], pictures), keys, cuts)
    return adapt(colouriser, shots, steps, on_step=lambda done: observer.adapting(done, steps))


def stages(pictures: Iterable[Picture], options: UpscaleOptions, engine: Interpolator,
           colouriser: Colouriser | None, keys: KeyframeSource | None, schedule: Schedule,
           repeats: RepeatDetector | KnownRepeats, counts: StreamCounts,
           colour_counts: FusionCounts, first_index: int = 0, window: Window = EVERYTHING
           ) -> Iterator[Picture]:
    """The decoded pictures through colour, dedup and frame rate: the output's pictures.

    ``first_index`` and ``window``: where a segment of a long video starts in the input and
    which output frames it makes (`vidfuse.segments`); a whole pass by default.
    """
    cuts = SceneCutDetector(options.scene_threshold)
    if keys is not None and colouriser is not None:
        pictures = colourise_stream(pictures, keys, colouriser, cuts, colour_counts,
                                    options.grey, first_index, whole=window == EVERYTHING)
    # Without --dedup, repeats are only counted, to suggest it where it would help.
    pictures = (drop_repeats(pictures, counts, repeats) if options.dedup
                else watch_repeats(pictures, repeats))
    return convert_frame_rate(pictures, engine, schedule, cuts, counts, window)


def keyframe_source(options: UpscaleOptions, info: SourceInfo) -> KeyframeSource | None:
    if options.keyframe_every is not None:
        return EveryNthKeyframe(options.keyframe_every)
    if options.keyframes is not None:
        return ImageKeyframes(options.keyframes, info)
    if options.reference is not None:
        offset = options.reference_offset
        assert offset is not None, "upscale resolves an automatic offset first"
        return ReferenceKeyframes(options.reference, info, offset)
    return None


def schedule_for(options: UpscaleOptions, info: SourceInfo) -> Schedule:
    if options.fps is not None:
        return RateSchedule(options.fps, start=info.start_time)
    schedule = FactorSchedule(options.factor, info.frame_rate, info.time_base,
                              fill_gaps=options.dedup)
    return SlowMotion(schedule, options.factor, info.start_time) if options.slowmo else schedule


def open_sink(options: UpscaleOptions, info: SourceInfo, schedule: Schedule, temp: Path,
              warn: Warn) -> Sink:
    """The output as ``options`` ask for it, written at ``temp`` until complete."""
    encode = options.encode
    if output_kind(options.output) == "frames":
        kept = info if encode.keep_audio else dataclasses.replace(info, passthrough=[])
        return FrameDirectorySink(options.output, temp, kept, warn)
    if options.slowmo and encode.keep_audio:
        if info.passthrough:
            warn(f"slow motion: dropping {counted(info.passthrough)}, which would no longer "
                 "match the picture")
        encode = dataclasses.replace(encode, keep_audio=False)
    if isinstance(schedule, SlowMotion):  # chapters mark the same moments, now later
        info = dataclasses.replace(info, chapters=[c.moved(schedule.stretch)
                                                   for c in info.chapters])
    return VideoFileSink(options.output, temp, encode, info, schedule.rate,
                         schedule.time_base, warn)

