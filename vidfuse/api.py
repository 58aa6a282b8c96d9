"""What a Python user imports: ``upscale(UpscaleOptions(...))``; the CLI only wraps this."""

from __future__ import annotations

import dataclasses
import itertools
import os
import tempfile
import threading
import time
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from vidfuse.colourisers import Colouriser, build_colouriser
from vidfuse.dedup import (
    DEFAULT_REPEAT_THRESHOLD,
    RepeatDetector,
    drop_repeats,
    repeat_hint,
    watch_repeats,
)
from vidfuse.engines import Interpolator, build_engine
from vidfuse.errors import Cancelled, UsageError
from vidfuse.fusion import DEFAULT_ADAPT_STEPS, FusionCounts, check_input, colourise_stream
from vidfuse.keyframes import EveryNthKeyframe, ImageKeyframes, KeyframeSource, ReferenceKeyframes
from vidfuse.picture import Picture
from vidfuse.pipeline import StreamCounts, convert_frame_rate
from vidfuse.scene import DEFAULT_SCENE_THRESHOLD, SceneCutDetector
from vidfuse.sync import Sync, find_offset
from vidfuse.threads import BackgroundCalls, prefetched
from vidfuse.timeline import FactorSchedule, RateSchedule, Schedule, SlowMotion
from vidfuse.video.atomic import atomic_output
from vidfuse.video.pipes import check_pipes, is_pipe
from vidfuse.video.reader import SourceInfo, open_source
from vidfuse.video.span import WHOLE, Span
from vidfuse.video.writer import (
    CONTAINERS,
    EncodeSettings,
    FrameDirectorySink,
    VideoFileSink,
    check_encode_settings,
    output_kind,
)
from vidfuse.weights import resolve

if TYPE_CHECKING:
    from vidfuse.adapt import AdaptReport

FACTORS = (2, 4, 8)
# The highest --fps: above it a target is a typo (1e9), not a video, and would only fill memory.
MAX_FPS = 1000


@dataclass(frozen=True)
class UpscaleOptions:
    """Everything one `upscale` run needs; :meth:`validate` checks it before any work starts."""

    input: Path
    output: Path
    factor: int = 2
    fps: Fraction | None = None
    # Keep the input's frame rate and play ``factor`` times slower (audio cannot follow).
    slowmo: bool = False
    engine: str = "auto"
    scene_threshold: float = DEFAULT_SCENE_THRESHOLD
    # Drop frames that repeat the previous one and interpolate across them (vidfuse.dedup).
    dedup: bool = False
    dedup_threshold: float = DEFAULT_REPEAT_THRESHOLD
    device: str = "auto"
    overwrite: bool = False
    image_fps: Fraction | None = None
    # Only this part of the input (--start, --duration); the output's clock starts with it.
    span: Span = WHOLE
    encode: EncodeSettings = field(default_factory=EncodeSettings)
    # Fusion mode: colour for a grey input from one of these three (see vidfuse.keyframes).
    reference: Path | None = None
    # Seconds added to the reference's clock; None: found by `vidfuse.sync` (auto).
    reference_offset: float | None = 0.0
    keyframes: Path | None = None
    keyframe_every: int | None = None
    grey: bool = False
    colouriser: str = "auto"
    # Fine-tuning steps on the video's own keyframes (learned colouriser); None: the default.
    adapt: int | None = None
    # Weight sets (a name from `vidfuse weights list`, or a .safetensors path) replacing the
    # shipped ones of the learned engine and the learned colouriser.
    weights: str | None = None
    colour_weights: str | None = None

    def __post_init__(self) -> None:
        # Python callers pass str or os.PathLike paths and plain numbers: made the types
        # the rest of vidfuse works with, once, here.
        for name in ("input", "output", "reference", "keyframes"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))
        for name in ("fps", "image_fps"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Fraction):
                object.__setattr__(self, name, Fraction(value).limit_denominator(1_000_000))

    @property
    def fusion(self) -> bool:
        return any(x is not None for x in (self.reference, self.keyframes, self.keyframe_every))

    def validate(self) -> None:
        """Raise :class:`UsageError` for anything wrong that needs no decoding to find."""
        if self.fps is None and self.factor not in FACTORS:
            raise UsageError(f"--factor must be one of {', '.join(map(str, FACTORS))}, "
                             f"not {self.factor} (use --fps for other rates)")
        if self.slowmo and self.fps is not None:
            raise UsageError("--slowmo plays --factor times slower at the input's rate; "
                             "it does not take --fps")
        if self.fps is not None and not 0 < self.fps <= MAX_FPS:
            raise UsageError(f"--fps must be above 0 and at most {MAX_FPS} (no real output "
                             f"plays faster), not {float(self.fps):g}")
        check_pipes(self.input, self.output)
        if not is_pipe(self.input) and not self.input.exists():
            raise UsageError(f"input not found: {self.input}")
        if is_pipe(self.input) and self.adapt:
            raise UsageError("--adapt reads the input a second time, which a pipe cannot "
                             "give: pass a file, or --adapt 0")
        sources = [x for x in (self.reference, self.keyframes, self.keyframe_every)
                   if x is not None]
        if len(sources) > 1:
            raise UsageError("--reference, --keyframes and --keyframe-every are alternatives: "
                             "give one")
        if not self.span.whole and (self.reference or self.keyframes):
            raise UsageError("--start and --duration do not work with --reference or "
                             "--keyframes, which are matched to the whole input: trim the "
                             "grey video and its colour together first")
        if self.reference_offset is None and self.reference is None:
            raise UsageError("--reference-offset auto needs a --reference to find it for")
        if self.reference_offset is None and (is_pipe(self.input) or self.input.is_dir()):
            raise UsageError("--reference-offset auto reads the input video a second time, "
                             "which a pipe cannot give and an image folder is not: pass a "
                             "video file, or the offset in seconds")
        if self.grey and not sources:
            raise UsageError("--grey needs colour from --reference, --keyframes or "
                             "--keyframe-every")
        if self.dedup_threshold < 0:
            raise UsageError(f"--dedup-threshold must be 0 or more, not {self.dedup_threshold}")
        if self.adapt is not None and self.adapt < 0:
            raise UsageError(f"--adapt takes a number of steps (0 disables), not {self.adapt}")
        if self.keyframe_every is not None and self.keyframe_every < 2:
            raise UsageError(f"--keyframe-every must be 2 or more, not {self.keyframe_every}")
        for given in (self.reference, self.keyframes):
            if given is not None and not given.exists():
                raise UsageError(f"not found: {given}")
            if given is not None and given.resolve() == self.output.resolve():
                raise UsageError(f"output would overwrite {given}")
        if not is_pipe(self.output):  # standard output has no file to check
            self._check_output_file()
        check_encode_settings(self.encode, self.output)

    def _check_output_file(self) -> None:
        kind = output_kind(self.output)
        if self.output.resolve() == self.input.resolve():
            raise UsageError(f"output would overwrite the input: {self.output}")
        if self.output.exists() and not self.overwrite:
            raise UsageError(f"output exists: {self.output} (pass --overwrite to replace it)")
        if kind == "frames" and self.output.exists() and not self.output.is_dir():
            raise UsageError(f"output {self.output} is a file, not a directory for PNG frames")
        parent = self.output.resolve().parent
        if not parent.is_dir():
            raise UsageError(f"output directory does not exist: {parent}")
        try:  # os.access() says yes to root even where the filesystem refuses
            with tempfile.TemporaryFile(dir=parent):
                pass
        except OSError:
            raise UsageError(f"output directory is not writable: {parent}") from None


@dataclass(frozen=True)
class UpscaleResult:
    """What a finished run did, for the summary line and for scripts."""

    output: Path
    engine: str
    device: str
    frames_in: int
    frames_out: int
    interpolated: int
    scene_cuts: int
    seconds: float
    repeats: int = 0
    colouriser: str | None = None  # the one that ran (fusion mode)
    keyframes: int = 0
    colourised: int = 0
    adapted: AdaptReport | None = None
    synced: Sync | None = None  # the reference's offset, where it was found (auto)

    @property
    def input_fps(self) -> float:
        return self.frames_in / self.seconds if self.seconds > 0 else 0.0


class Observer(Protocol):
    """Receives progress while `upscale` runs (the CLI draws a progress bar from it)."""

    def started(self, info: SourceInfo, engine: Interpolator) -> None: ...

    def advanced(self, counts: StreamCounts) -> None: ...

    def warning(self, message: str) -> None: ...

    def adapting(self, done: int, total: int) -> None: ...


class SilentObserver:
    """Default observer: reports nothing."""

    def started(self, info: SourceInfo, engine: Interpolator) -> None:
        """Nothing to show."""

    def advanced(self, counts: StreamCounts) -> None:
        """Nothing to show."""

    def warning(self, message: str) -> None:
        """Warnings are dropped unless an observer shows them."""

    def adapting(self, done: int, total: int) -> None:
        """Nothing to show."""


def upscale(options: UpscaleOptions, observer: Observer | None = None,
            models: Models | None = None, cancel: threading.Event | None = None
            ) -> UpscaleResult:
    """Raise the frame rate of ``options.input`` and write ``options.output`` atomically.

    ``models``: the engine and colouriser from :func:`build_models`, to reuse across calls
    (batch workers load them once); built from ``options`` when not given. ``cancel``: once
    set (from another thread or a signal handler), the run stops at the next frame with
    :class:`Cancelled`, and nothing is left at the output.
    """
    observer = observer or SilentObserver()
    options.validate()
    engine, colouriser = models or build_models(options)
    engine.reset()
    started = time.perf_counter()
    counts = StreamCounts()
    colour_counts = FusionCounts()
    with (open_source(options.input, options.image_fps, options.span) as source,
          ExitStack() as stack):
        info = source.info
        schedule = _schedule(options, info)
        synced = None
        if options.reference is not None and options.reference_offset is None:
            synced = find_offset(options.input, options.reference)
            options = dataclasses.replace(options, reference_offset=synced.offset)
        keys = _keyframe_source(options, info)
        if keys is not None:
            stack.callback(keys.close)
        observer.started(info, engine)
        _warn_about_source(info, observer)
        adapted = _adapt(options, info, colouriser, observer) if colouriser else None
        with atomic_output(options.output) as temp:
            sink = _open_sink(options, info, schedule, temp, observer)
            # Decoding runs ahead in one thread and muxing behind in another, overlapping
            # both with the engine; all muxing (video and copied packets) stays on one thread.
            encoder: BackgroundCalls[None] = BackgroundCalls()
            try:
                source.route_packets(lambda packet: encoder.submit(partial(sink.packet, packet)))
                cuts = SceneCutDetector(options.scene_threshold)
                decoded = prefetched(source.pictures())
                # Stop the decode thread before the source closes, even when a stage fails
                # (a traceback would otherwise keep it decoding from a closed container).
                stack.callback(decoded.close)
                pictures: Iterable[Picture] = decoded
                if keys is not None and colouriser is not None:
                    pictures = colourise_stream(pictures, keys, colouriser, cuts,
                                                colour_counts, options.grey)
                repeats = RepeatDetector(options.dedup_threshold)
                # Without --dedup, repeats are only counted, to suggest it where it would help.
                pictures = (drop_repeats(pictures, counts, repeats) if options.dedup
                            else watch_repeats(pictures, repeats))
                for picture in convert_frame_rate(pictures, engine, schedule, cuts, counts):
                    if cancel is not None and cancel.is_set():
                        raise Cancelled("stopped on request; no output was written")
                    encoder.submit(partial(sink.write, picture))
                    observer.advanced(counts)
                encoder.finish()
            except BaseException:
                encoder.cancel()
                sink.abort()
                raise
            if not options.dedup and (hint := repeat_hint(repeats.found, counts.frames_in)):
                observer.warning(hint)
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


def default_output(input: str | os.PathLike[str], factor: int = 2,
                   fps: Fraction | None = None, slowmo: bool = False) -> Path:
    """Where `vidfuse upscale` writes when not told: beside the input, named for the new rate
    (clip.mp4 -> clip_x2.mp4, clip_60fps.mp4 with ``fps``, clip_slow2.mp4 with ``slowmo``).
    An image folder gives a folder of PNGs; a container vidfuse does not write (.avi, ...)
    gives .mkv."""
    input = Path(input)
    if is_pipe(input):
        raise UsageError("with input from a pipe, name the output: --out FILE, or --out - "
                         "for standard output")
    tag = (f"{round(float(fps), 2):g}fps" if fps else
           f"slow{factor}" if slowmo else f"x{factor}")
    if input.is_dir():
        return input.with_name(f"{input.name}_{tag}")
    suffix = input.suffix if input.suffix.lower() in CONTAINERS else ".mkv"
    return input.with_name(f"{input.stem}_{tag}{suffix}")


def _warn_about_source(info: SourceInfo, observer: Observer) -> None:
    """What the input has that the output cannot do justice to."""
    if info.icc_profile:
        observer.warning("input has an ICC colour profile, which the output does not carry: "
                         "its colours are taken as the colour tags say (sRGB for images)")
    if info.interlaced:
        observer.warning("input is interlaced: each frame holds two fields, so the new "
                         "frames will smear their combing; deinterlace it first "
                         "(e.g. ffmpeg -i IN -vf bwdif OUT)")


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
    with (open_source(options.input, options.image_fps, options.span) as source,
          ExitStack() as stack):
        keys = _keyframe_source(options, info)
        assert keys is not None
        stack.callback(keys.close)
        pictures = source.pictures()
        first = next(pictures)
        check_input(first, keys, options.grey)
        shots = collect_keyframes(itertools.chain([first], pictures), keys, cuts)
    return adapt(colouriser, shots, steps, on_step=lambda done: observer.adapting(done, steps))


Models = tuple[Interpolator, "Colouriser | None"]


def build_models(options: UpscaleOptions) -> Models:
    """The engine and (in fusion mode) the colouriser that ``options`` ask for."""
    device = options.device  # resolved by the registry, and only where it matters
    engine = build_engine(options.engine, device,
                          resolve(options.weights, "interp") if options.weights else None)
    if not options.fusion:
        if options.colour_weights:
            raise UsageError("--colour-weights is for fusion mode (--reference, --keyframes or "
                             "--keyframe-every)")
        return engine, None
    return engine, build_colouriser(options.colouriser, device,
                                    resolve(options.colour_weights, "colour")
                                    if options.colour_weights else None)


def _keyframe_source(options: UpscaleOptions, info: SourceInfo) -> KeyframeSource | None:
    if options.keyframe_every is not None:
        return EveryNthKeyframe(options.keyframe_every)
    if options.keyframes is not None:
        return ImageKeyframes(options.keyframes, info)
    if options.reference is not None:
        offset = options.reference_offset
        assert offset is not None, "upscale resolves an automatic offset first"
        return ReferenceKeyframes(options.reference, info, offset)
    return None


def _schedule(options: UpscaleOptions, info: SourceInfo) -> Schedule:
    if options.fps is not None:
        return RateSchedule(options.fps, start=info.start_time)
    schedule = FactorSchedule(options.factor, info.frame_rate, info.time_base,
                              fill_gaps=options.dedup)
    return SlowMotion(schedule, options.factor, info.start_time) if options.slowmo else schedule


def _open_sink(options: UpscaleOptions, info: SourceInfo, schedule: Schedule, temp: Path,
               observer: Observer) -> VideoFileSink | FrameDirectorySink:
    encode = options.encode
    if output_kind(options.output) == "frames":
        kept = info if encode.keep_audio else dataclasses.replace(info, passthrough=[])
        return FrameDirectorySink(options.output, temp, kept, observer.warning)
    if options.slowmo and encode.keep_audio:
        if info.passthrough:
            observer.warning(f"slow motion: {len(info.passthrough)} audio/subtitle stream(s) "
                             "dropped, they would no longer match the picture")
        encode = dataclasses.replace(encode, keep_audio=False)
    if isinstance(schedule, SlowMotion):  # chapters mark the same moments, now later
        info = dataclasses.replace(info, chapters=[c.moved(schedule.stretch)
                                                   for c in info.chapters])
    return VideoFileSink(options.output, temp, encode, info, schedule.rate,
                         schedule.time_base, observer.warning)
