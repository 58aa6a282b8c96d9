"""`vidfuse upscale`: one video (or image folder, or pipe) in, one out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from vidfuse.api import UpscaleOptions, UpscaleResult, default_output, upscale
from vidfuse.cli import _options as shared
from vidfuse.cli._app import NOTHING_WRITTEN, err, flag, guarded, parse_fraction, stop_requested
from vidfuse.cli._options import upscale_options
from vidfuse.dedup import DEFAULT_REPEAT_THRESHOLD
from vidfuse.engines import Interpolator
from vidfuse.framerate import StreamCounts
from vidfuse.keyframes import NAMING
from vidfuse.scene import DEFAULT_SCENE_THRESHOLD
from vidfuse.video.media import SourceInfo
from vidfuse.video.pipes import is_pipe
from vidfuse.work_folder import finished_segments, work_folder


class _ProgressObserver:
    """Draws a rich progress bar on a terminal and prints warnings as they come."""

    def __init__(self, quiet: bool) -> None:
        self._quiet = quiet
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._phases: dict[str, TaskID] = {}  # bars beside the frames' (planning, adapting)
        self._resumed_at: int | None = None  # frames already done when the bar first moved

    def started(self, info: SourceInfo, engine: Interpolator) -> None:
        if self._progress is not None and self._task is not None:  # the count, now exact
            self._progress.update(self._task, total=info.frame_count)
            return
        if self._quiet:
            return
        err.print(f"[bold]{info.path.name}[/]: {info.width}x{info.height} "
                  f"{float(info.frame_rate):.3f} fps, engine [cyan]{engine.name}[/] "
                  f"on [cyan]{engine.device}[/]")
        if err.is_terminal:
            self._progress = Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[fps]:>6.1f} fps"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=err,
                transient=True,
            )
            self._task = self._progress.add_task("frames", total=info.frame_count, fps=0.0)
            self._progress.start()

    def advanced(self, counts: StreamCounts) -> None:
        if self._progress is not None and self._task is not None:
            if self._resumed_at is None:  # a resumed run's segments: not this run's speed
                self._resumed_at = counts.frames_read
                self._progress.reset(self._task, completed=counts.frames_read, fps=0.0)
            task = self._progress.tasks[0]
            elapsed = task.elapsed or 0.0
            made = counts.frames_read - self._resumed_at
            self._progress.update(self._task, completed=counts.frames_read,
                                  fps=made / elapsed if elapsed else 0.0)

    def warning(self, message: str) -> None:
        err.print(f"[yellow]warning:[/] {escape(message)}")

    def note(self, message: str) -> None:
        if not self._quiet:
            err.print(escape(message))

    def planning(self, done: int, total: int | None) -> None:
        self._phase("planning segments", done, total)

    def adapting(self, done: int, total: int) -> None:
        self._phase("adapting colouriser", done, total)

    def _phase(self, name: str, done: int, total: int | None) -> None:
        if self._progress is None:
            return
        if name not in self._phases:
            self._phases[name] = self._progress.add_task(name, total=total, fps=0.0)
        self._progress.update(self._phases[name], completed=done)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def upscale_command(
    input: Annotated[Path, typer.Argument(metavar="INPUT",
        help="Video file, a directory of images (png/jpg/tif, natural order), or - for "
             "standard input (Matroska or MPEG-TS from a pipe).",
        show_default=False)],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o",
        help="Output .mp4/.mkv/.mov/.webm, a directory path for numbered PNG frames, or - "
             "for standard output (Matroska) (default: beside the input, clip.mp4 -> "
             "clip_x2.mp4 or clip_60fps.mp4).",
        show_default=False)] = None,
    factor: shared.Factor = 2,
    fps: shared.Fps = None,
    slowmo: shared.Slowmo = False,
    start: shared.Start = None,
    duration: shared.Duration = None,
    engine: shared.Engine = "auto",
    scene_threshold: shared.SceneThreshold = DEFAULT_SCENE_THRESHOLD,
    dedup: shared.Dedup = False,
    dedup_threshold: shared.DedupThreshold = DEFAULT_REPEAT_THRESHOLD,
    deinterlace: shared.Deinterlace = False,
    codec: shared.Codec = None,
    crf: shared.Crf = None,
    preset: shared.Preset = None,
    pix_fmt: shared.PixFmt = None,
    encoder_opt: shared.EncoderOpt = None,
    no_audio: shared.NoAudio = False,
    input_fps: Annotated[str | None, typer.Option(
        help="Frame rate of an image-directory input (default 25).",
        show_default=False)] = None,
    reference: Annotated[Path | None, typer.Option(
        help="Fusion: colour video of the same scene (any rate and size, same aspect); its "
             "frames colour the grey frames they match in time (within half a frame).",
        rich_help_panel=shared.COLOUR_PANEL, show_default=False)] = None,
    reference_offset: Annotated[str, typer.Option(
        help="Seconds to add to the reference's timestamps when its clock differs, or auto: "
             "found by matching when things move in both videos (first minute, within 30 s "
             "either way).", rich_help_panel=shared.COLOUR_PANEL)] = "0",
    keyframes: Annotated[Path | None, typer.Option(
        help=f"Fusion: directory of colour images, each named by {NAMING}.",
        rich_help_panel=shared.COLOUR_PANEL, show_default=False)] = None,
    keyframe_every: shared.KeyframeEvery = None,
    grey: Annotated[bool, flag(
        "--grey", help="Treat the input as greyscale even if it carries colour (it is "
                       "detected otherwise).", rich_help_panel=shared.COLOUR_PANEL)] = False,
    colouriser: shared.ColouriserName = "auto",
    adapt: shared.Adapt = None,
    weights: shared.Weights = None,
    colour_weights: shared.ColourWeights = None,
    device: shared.Device = "auto",
    segment: shared.Segment = None,
    jobs: Annotated[int, typer.Option(
        help="Segments made at once, each by a worker process with its share of the cores.",
        rich_help_panel=shared.LONG_PANEL)] = 1,
    cluster: Annotated[str | None, typer.Option(
        metavar="ADDRESS",
        help="Make the segments on a Ray cluster (ray://HOST:PORT, or auto); every node must "
             "see the input and output at the same paths. Needs pip install "
             "'vidfuse\\[ray]'.", rich_help_panel=shared.LONG_PANEL, show_default=False)] = None,
    work_dir: Annotated[Path | None, typer.Option(
        metavar="DIR",
        help="Where segments are kept until the output is complete, in a folder per output "
             "(default: a hidden folder beside the output).", rich_help_panel=shared.LONG_PANEL,
        show_default=False)] = None,
    overwrite: Annotated[bool, flag(
        "--overwrite", help="Replace OUT if it exists.")] = False,
    quiet: shared.Quiet = False,
) -> None:
    """Raise a video's frame rate (and colour a grey one from a few colour keyframes).

    Every input frame is kept; new ones are interpolated between them.

    Examples:

      vidfuse upscale clip.mp4                             # 2x: clip_x2.mp4

      vidfuse upscale clip.mp4 --out smooth.mp4            # 2x, named

      vidfuse upscale clip.mp4 --out clip60.mp4 --fps 60   # any target rate

      vidfuse upscale clip.mp4 --factor 4 --slowmo         # 4x slow motion

      vidfuse upscale film.mkv --start 12:30 --duration 5  # a 5 s preview

      vidfuse upscale anime.mkv --dedup                    # held drawings

      vidfuse upscale shots/ --input-fps 24 --out frames/  # images to PNGs

      ffmpeg -i in.mov -f matroska - | vidfuse upscale - --out - | mpv -

      vidfuse upscale grey.mp4 --reference colour.mp4 --out out.mp4

      vidfuse upscale grey.mp4 --keyframes keys/ --out out.mp4

      vidfuse upscale film.mkv --jobs 2                    # segments, 2 at once

    A video of 3 minutes or more is made in segments: run the same command again after
    a crash or Ctrl-C and it resumes from the segments it finished.

    Audio and subtitles are copied, colour tags kept. The output appears only when complete.
    """
    observer = _ProgressObserver(quiet)
    asked: list[UpscaleOptions] = []

    def run() -> UpscaleResult:
        target = out or default_output(input, factor, parse_fraction(fps, "--fps") if fps else None,
                                       slowmo)
        options = upscale_options(
            input, target, fps=fps, start=start, duration=duration, codec=codec, crf=crf,
            preset=preset, pix_fmt=pix_fmt, encoder_opt=encoder_opt, no_audio=no_audio,
            input_fps=input_fps, reference_offset=reference_offset, factor=factor,
            slowmo=slowmo, engine=engine, scene_threshold=scene_threshold, dedup=dedup,
            dedup_threshold=dedup_threshold, deinterlace=deinterlace,
            keyframe_every=keyframe_every,
            colouriser=colouriser, adapt=adapt, weights=weights,
            colour_weights=colour_weights, device=device, overwrite=overwrite,
            segment=segment, jobs=jobs, cluster=cluster, work_dir=work_dir,
            reference=reference, keyframes=keyframes, grey=grey)
        asked.append(options)
        try:
            return upscale(options, observer, cancel=stop_requested)
        finally:
            observer.stop()

    def interrupted() -> str:
        if out is not None and is_pipe(out):
            return "interrupted; the video on standard output ends early"
        kept = finished_segments(asked[0]) if asked else 0
        if kept:
            return (f"{NOTHING_WRITTEN}; {kept} finished segment(s) are kept in "
                    f"{work_folder(asked[0])}: the same command resumes from them")
        return NOTHING_WRITTEN

    result = guarded(run, interrupted)
    if not quiet:
        err.print(
            f"[green]done:[/] {result.frames_in} -> {result.frames_out} frames "
            f"({result.interpolated} interpolated, {result.scene_cuts} scene cuts"
            + (f", {result.repeats} repeats dropped" if result.repeats else "") + ") in "
            f"{result.seconds:.1f} s, {result.processing_fps:.1f} input fps"
            + (f", {result.segments} segments" if result.segments > 1 else "")
            + (f" ({result.resumed} input frames made before)" if result.resumed else "")
            + f" -> {result.output}"
        )
        if result.synced:
            err.print(f"reference offset found: {result.synced.offset:+.3f} s (match "
                      f"{result.synced.match:.2f})")
        if result.keyframes:
            err.print(f"colour: {result.keyframes} keyframes, {result.colourised} frames "
                      f"colourised by {result.colouriser}"
                      + (f"; {result.adapted.describe()}" if result.adapted else ""))

