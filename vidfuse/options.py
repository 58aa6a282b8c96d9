"""What one run is asked to do and what it reports: the types at the edge of the library,
validated once before any work starts."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from vidfuse.dedup import DEFAULT_REPEAT_THRESHOLD
from vidfuse.engines import Interpolator
from vidfuse.errors import UsageError
from vidfuse.framerate import StreamCounts
from vidfuse.scene import DEFAULT_SCENE_THRESHOLD
from vidfuse.sync import Sync
from vidfuse.video.media import SourceInfo
from vidfuse.video.pipes import check_pipes, is_pipe
from vidfuse.video.span import WHOLE, Span
from vidfuse.video.writer import (
    EncodeSettings,
    check_encode_settings,
    output_kind,
)

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
    # Rebuild interlaced frames whole (bwdif) before interpolating (vidfuse.video.filters).
    deinterlace: bool = False
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
    # A long video in segments (`vidfuse.segmented`): their length in seconds (None: chosen
    # by the video's length, 0: one pass), how many are made at once, on this machine or on
    # a Ray cluster, and where they are kept until the output is complete.
    segment: float | None = None
    jobs: int = 1
    cluster: str | None = None
    work_dir: Path | None = None

    def __post_init__(self) -> None:
        # Python callers pass str or os.PathLike paths and plain numbers: made the types
        # the rest of vidfuse works with, once, here.
        for name in ("input", "output", "reference", "keyframes", "work_dir"):
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
        if self.segment is not None and not (self.segment == 0 or self.segment >= 1):
            raise UsageError(f"--segment takes seconds (1 or more, 0 for one pass), not "
                             f"{self.segment:g}")
        if self.jobs < 1:
            raise UsageError(f"--jobs must be 1 or more, not {self.jobs}")
        check_output(self.output, [self.input], self.overwrite)
        check_encode_settings(self.encode, self.output)


def check_output(output: Path, inputs: list[Path], overwrite: bool) -> None:
    """Refuse, before any work, an output that would replace an input or a file the user did
    not ask to replace, or that cannot be written where it is to go."""
    if is_pipe(output):  # standard output has no file to check
        return
    kind = output_kind(output)
    if any(output.resolve() == given.resolve() for given in inputs if not is_pipe(given)):
        raise UsageError(f"output would overwrite the input: {output}")
    if output.exists() and not overwrite:
        raise UsageError(f"output exists: {output} (pass --overwrite to replace it)")
    if kind == "frames" and output.exists() and not output.is_dir():
        raise UsageError(f"output {output} is a file, not a directory for PNG frames")
    parent = output.resolve().parent
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
    segments: int = 0  # the video was made in this many segments (0: one pass)
    resumed: int = 0  # input frames of segments an interrupted run had made (reused)
    nodes: tuple[str, ...] = ()  # the Ray nodes that made them (--cluster)

    @property
    def processing_fps(self) -> float:
        """How fast this run went: input frames made per second (reused segments not
        counted). Not the input's frame rate, which `vidfuse info` gives."""
        made = self.frames_in - self.resumed
        return made / self.seconds if self.seconds > 0 else 0.0


class Observer(Protocol):
    """Receives progress while `upscale` runs (the CLI draws a progress bar from it).

    A video made in segments calls :meth:`started` before its planning pass, with the
    container's frame count, and again after it with the exact count."""

    def started(self, info: SourceInfo, engine: Interpolator) -> None: ...

    def advanced(self, counts: StreamCounts) -> None: ...

    def warning(self, message: str) -> None: ...

    def note(self, message: str) -> None: ...

    def planning(self, done: int, total: int | None) -> None: ...

    def adapting(self, done: int, total: int) -> None: ...


class SilentObserver:
    """Default observer: reports nothing."""

    def started(self, info: SourceInfo, engine: Interpolator) -> None:
        """Nothing to show."""

    def advanced(self, counts: StreamCounts) -> None:
        """Nothing to show."""

    def warning(self, message: str) -> None:
        """Warnings are dropped unless an observer shows them."""

    def note(self, message: str) -> None:
        """What a run is doing beside frames (planning, resuming): dropped here too."""

    def planning(self, done: int, total: int | None) -> None:
        """Nothing to show."""

    def adapting(self, done: int, total: int) -> None:
        """Nothing to show."""

