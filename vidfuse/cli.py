"""The `vidfuse` command: parses arguments, calls the library, prints. No video logic here."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from vidfuse import __version__, colourisers, engines
from vidfuse.api import SilentObserver, UpscaleOptions, UpscaleResult, default_output, upscale
from vidfuse.batch import DEFAULT_PATTERNS, FileResult, plan, run_batch
from vidfuse.dedup import DEFAULT_REPEAT_THRESHOLD, MAX_REPEATS
from vidfuse.engines import Interpolator
from vidfuse.errors import BatchInterrupted, Cancelled, UsageError, VidfuseError
from vidfuse.fusion import ADAPT_KEYFRAMES, DEFAULT_ADAPT_STEPS
from vidfuse.keyframes import NAMING
from vidfuse.pipeline import StreamCounts
from vidfuse.scene import DEFAULT_SCENE_THRESHOLD
from vidfuse.video.pipes import is_pipe
from vidfuse.video.probe import probe
from vidfuse.video.reader import SourceInfo
from vidfuse.video.span import Span, parse_seconds
from vidfuse.video.writer import CODECS, GPU_CODECS, EncodeSettings

app = typer.Typer(
    name="vidfuse",
    help="Smoother, more colourful video: raise the frame rate with motion-compensated "
         "interpolation, and colour greyscale video from a few colour keyframes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False)
out = Console(highlight=False)
T = TypeVar("T")
_debug = False


def _version(wanted: bool) -> None:
    """--version: vidfuse's and the libraries' that shape its output, for bug reports."""
    if not wanted:
        return
    import platform
    from importlib.metadata import PackageNotFoundError, version

    import av
    import cv2

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    out.print(f"vidfuse {__version__}", soft_wrap=True)
    out.print(f"Python {platform.python_version()}, PyAV {av.__version__} (FFmpeg "
              f"{av.ffmpeg_version_info}), OpenCV {cv2.__version__}, torch "
              f"{installed('torch')}, numpy {installed('numpy')}", soft_wrap=True)
    raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option(
        "--debug", help="Show full tracebacks on errors, and the encoder library's own "
                        "messages.")] = False,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True,
        help="Show the versions of vidfuse and of the libraries it runs on.")] = False,
) -> None:
    global _debug
    _debug = debug
    # Logs and CI read stderr as a file: a message stays on one line there, however long.
    err.soft_wrap = not err.is_terminal


def _fraction(text: str, option: str) -> Fraction:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise UsageError(f"{option} takes a number like 60, 29.97 or 60000/1001, not '{text}'") \
            from None
    if value <= 0:
        raise UsageError(f"{option} must be positive, not '{text}'")
    return value


def _key_values(pairs: list[str]) -> dict[str, str]:
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--encoder-opt takes key=value, not '{pair}'")
        result[key] = value
    return result


class _ProgressObserver:
    """Draws a rich progress bar on a terminal and prints warnings as they come."""

    def __init__(self, quiet: bool) -> None:
        self._quiet = quiet
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._adapt_task: TaskID | None = None

    def started(self, info: SourceInfo, engine: Interpolator) -> None:
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
            task = self._progress.tasks[0]
            elapsed = task.elapsed or 0.0
            self._progress.update(self._task, completed=counts.frames_read,
                                  fps=counts.frames_read / elapsed if elapsed else 0.0)

    def warning(self, message: str) -> None:
        err.print(f"[yellow]warning:[/] {message}")

    def adapting(self, done: int, total: int) -> None:
        if self._progress is None:
            return
        if self._adapt_task is None:
            self._adapt_task = self._progress.add_task("adapting colouriser", total=total,
                                                       fps=0.0)
        self._progress.update(self._adapt_task, completed=done)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()


_NOTHING_WRITTEN = "interrupted; no output was written"


def _guarded(action: Callable[[], T], interrupted: str = _NOTHING_WRITTEN) -> T:
    """Run a command body: known errors become one line and an exit code, never a traceback."""
    try:
        return action()
    except Cancelled:
        _fail(interrupted, _interrupted_exit_code())
    except VidfuseError as exc:
        if _debug:
            raise
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        _fail(interrupted, _interrupted_exit_code())
    except Exception as exc:  # a bug: still one line unless --debug
        if _debug:
            raise
        _fail(f"unexpected {type(exc).__name__}: {exc} (run with --debug for details)", 1)


def _offset(text: str) -> float | None:
    """--reference-offset: seconds, or None for auto."""
    if text.strip().lower() == "auto":
        return None
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"--reference-offset takes seconds or auto, not {text!r}") from None


def _fail(message: str, code: int) -> NoReturn:
    err.print(f"[red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


# Options shared by `upscale` and `batch`: declared once, used by both signatures.
_COLOUR = "Colour (fusion mode)"
Factor = Annotated[int, typer.Option(
    help="Frame-rate multiplier: 2, 4 or 8. Duration is unchanged.")]
Fps = Annotated[str | None, typer.Option(
    help="Target frame rate instead of --factor (e.g. 60, 29.97, 60000/1001).",
    show_default=False)]
Engine = Annotated[str, typer.Option(
    help=f"Interpolation engine: auto (= {engines.AUTO_ENGINE}), "
         + ", ".join(engines.available()) + ".")]
SceneThreshold = Annotated[float, typer.Option(
    help="Scene-cut sensitivity (lower = more cuts; 0 disables). Frames across a cut are "
         "repeated, not morphed.")]
Slowmo = Annotated[bool, typer.Option(
    "--slowmo", help="Slow motion: keep the frame rate and play --factor times longer "
                     "(audio and subtitles are dropped).")]
Start = Annotated[str | None, typer.Option(
    help="Process from this time on (seconds, or [HH:]MM:SS[.ms]); the output starts there at "
         "0:00, audio in step. With --duration, preview a few seconds before a long run.",
    show_default=False)]
Duration = Annotated[str | None, typer.Option(
    help="Process only this long (seconds, or [HH:]MM:SS[.ms]).", show_default=False)]
Dedup = Annotated[bool, typer.Option(
    "--dedup", help=f"Drop frames that repeat the one before (animation on twos or threes, "
                    f"24 fps film padded to 30) and interpolate across them, so motion no "
                    f"longer stutters. Holds longer than {MAX_REPEATS + 1} frames stay still.")]
DedupThreshold = Annotated[float, typer.Option(
    help="Largest change (8-bit levels of any 8x8 block's mean luma) that still counts as a "
         "repeat with --dedup; raise it for heavily compressed input.")]
Codec = Annotated[str | None, typer.Option(
    help=f"Video encoder: {', '.join(CODECS)} (lossless); on NVIDIA GPUs "
         f"{', '.join(GPU_CODECS)} (--crf sets their constant quality, -cq). Default: "
         "libvpx-vp9 for .webm, 10-bit libx265 for HDR input, else libx264.",
    show_default=False)]
Crf = Annotated[int | None, typer.Option(
    help="Constant-quality level (lower = better; codec default if unset).",
    show_default=False)]
Preset = Annotated[str | None, typer.Option(
    help="Encoder speed preset (x264 default: veryfast).", show_default=False)]
PixFmt = Annotated[str | None, typer.Option(
    help="Output pixel format (default: yuv420p, or yuv420p10le for >8-bit input).",
    show_default=False)]
EncoderOpt = Annotated[list[str] | None, typer.Option(
    help="Extra encoder option key=value, repeatable (e.g. tune=film).", show_default=False)]
NoAudio = Annotated[bool, typer.Option(
    "--no-audio", help="Drop audio, subtitles and attachments (fonts).")]
KeyframeEvery = Annotated[int | None, typer.Option(
    help="Fusion, simulated from a colour video: keep the colour of every N-th frame, "
         "rebuild the rest from luma (research and evaluation).",
    rich_help_panel=_COLOUR, show_default=False)]
ColouriserName = Annotated[str, typer.Option(
    "--colouriser", help=f"Colouriser: auto (= {colourisers.AUTO_COLOURISER}), "
                         + ", ".join(colourisers.available()) + ".", rich_help_panel=_COLOUR)]
Adapt = Annotated[int | None, typer.Option(
    help=f"Fine-tune the learned colouriser for this many steps on the video's own first "
         f"{ADAPT_KEYFRAMES} keyframes before colouring (0 disables; default "
         f"{DEFAULT_ADAPT_STEPS} for ae). The gain on held-out keyframes is reported.",
    rich_help_panel=_COLOUR, show_default=False)]
Weights = Annotated[str | None, typer.Option(
    help="Weights for the learned engine: a name from `vidfuse weights list` (downloaded if "
         "missing and allowed) or a .safetensors file.", show_default=False)]
ColourWeights = Annotated[str | None, typer.Option(
    help="Weights for the learned colouriser, likewise.", rich_help_panel=_COLOUR,
    show_default=False)]
Device = Annotated[str, typer.Option(
    help="auto, cpu, cuda or cuda:N. A missing GPU is an error, not a CPU fallback.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")]


def _options(input: Path, out: Path, factor: int, fps: str | None, slowmo: bool, engine: str,
             scene_threshold: float, dedup: bool, dedup_threshold: float, codec: str | None,
             crf: int | None, preset: str | None, pix_fmt: str | None,
             encoder_opt: list[str] | None, no_audio: bool,
             keyframe_every: int | None, colouriser: str, adapt: int | None,
             weights: str | None, colour_weights: str | None, device: str,
             start: str | None, duration: str | None, **rest: object) -> UpscaleOptions:
    """UpscaleOptions from the shared options (``rest``: fields only `upscale` has)."""
    return UpscaleOptions(
        input=input, output=out, factor=factor,
        fps=_fraction(fps, "--fps") if fps else None, slowmo=slowmo, engine=engine,
        span=Span(parse_seconds(start, "--start") if start else 0.0,
                  parse_seconds(duration, "--duration") if duration else None),
        scene_threshold=scene_threshold, dedup=dedup, dedup_threshold=dedup_threshold,
        device=device,
        encode=EncodeSettings(codec=codec, crf=crf, preset=preset, pix_fmt=pix_fmt,
                              encoder_options=_key_values(encoder_opt or []),
                              keep_audio=not no_audio, encoder_logs=_debug),
        keyframe_every=keyframe_every, colouriser=colouriser, adapt=adapt, weights=weights,
        colour_weights=colour_weights, **rest)  # type: ignore[arg-type]


@app.command("upscale")
def upscale_command(
    input: Annotated[Path, typer.Argument(
        help="Video file, a directory of images (png/jpg/tif, natural order), or - for "
             "standard input (Matroska or MPEG-TS from a pipe).",
        show_default=False)],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o",
        help="Output .mp4/.mkv/.mov/.webm, a directory path for numbered PNG frames, or - "
             "for standard output (Matroska) (default: beside the input, clip.mp4 -> "
             "clip_x2.mp4 or clip_60fps.mp4).",
        show_default=False)] = None,
    factor: Factor = 2,
    fps: Fps = None,
    slowmo: Slowmo = False,
    start: Start = None,
    duration: Duration = None,
    engine: Engine = "auto",
    scene_threshold: SceneThreshold = DEFAULT_SCENE_THRESHOLD,
    dedup: Dedup = False,
    dedup_threshold: DedupThreshold = DEFAULT_REPEAT_THRESHOLD,
    codec: Codec = None,
    crf: Crf = None,
    preset: Preset = None,
    pix_fmt: PixFmt = None,
    encoder_opt: EncoderOpt = None,
    no_audio: NoAudio = False,
    input_fps: Annotated[str | None, typer.Option(
        help="Frame rate of an image-directory input (default 25).",
        show_default=False)] = None,
    reference: Annotated[Path | None, typer.Option(
        help="Fusion: colour video of the same scene (any rate and size, same aspect); its "
             "frames colour the grey frames they match in time (within half a frame).",
        rich_help_panel=_COLOUR, show_default=False)] = None,
    reference_offset: Annotated[str, typer.Option(
        help="Seconds to add to the reference's timestamps when its clock differs, or auto: "
             "found by matching when things move in both videos (first minute, within 30 s "
             "either way).", rich_help_panel=_COLOUR)] = "0",
    keyframes: Annotated[Path | None, typer.Option(
        help=f"Fusion: directory of colour images, each named by {NAMING}.",
        rich_help_panel=_COLOUR, show_default=False)] = None,
    keyframe_every: KeyframeEvery = None,
    grey: Annotated[bool, typer.Option(
        "--grey", help="Treat the input as greyscale even if it carries colour (it is "
                       "detected otherwise).", rich_help_panel=_COLOUR)] = False,
    colouriser: ColouriserName = "auto",
    adapt: Adapt = None,
    weights: Weights = None,
    colour_weights: ColourWeights = None,
    device: Device = "auto",
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace OUT if it exists.")] = False,
    quiet: Quiet = False,
) -> None:
    """Raise a video's frame rate (and colour a grey one from a few colour keyframes).

    Every input frame is kept; new ones are interpolated between them.

    Examples:

      vidfuse upscale clip.mp4                               # 2x: clip_x2.mp4

      vidfuse upscale clip.mp4 --out smooth.mp4              # 2x, named

      vidfuse upscale clip.mp4 --out clip60.mp4 --fps 60     # any target rate

      vidfuse upscale clip.mp4 --factor 4 --slowmo           # 4x slow motion

      vidfuse upscale film.mkv --start 12:30 --duration 5    # a 5 s preview

      vidfuse upscale anime.mkv --dedup                      # smooth held drawings

      vidfuse upscale shots/ --input-fps 24 --out frames/    # images in, PNGs out

      ffmpeg -i in.mov -f matroska - | vidfuse upscale - --out - | mpv -   # pipes

      vidfuse upscale grey.mp4 --reference colour.mp4 --out out.mp4   # colour + 2x

      vidfuse upscale grey.mp4 --keyframes keys/ --out out.mp4        # hand-coloured keys

    Audio and subtitles are copied, colour tags kept. The output appears only when complete.
    """
    observer = _ProgressObserver(quiet)

    def run() -> UpscaleResult:
        target = out or default_output(input, factor, _fraction(fps, "--fps") if fps else None,
                                       slowmo)
        options = _options(
            input, target, factor, fps, slowmo, engine, scene_threshold, dedup, dedup_threshold,
            codec, crf, preset, pix_fmt, encoder_opt, no_audio, keyframe_every, colouriser,
            adapt, weights, colour_weights, device, start, duration, overwrite=overwrite,
            image_fps=_fraction(input_fps, "--input-fps") if input_fps else None,
            reference=reference, reference_offset=_offset(reference_offset),
            keyframes=keyframes,
            grey=grey)
        try:
            return upscale(options, observer, cancel=_stop_requested)
        finally:
            observer.stop()

    result = _guarded(run, "interrupted; the video on standard output ends early"
                      if out is not None and is_pipe(out) else _NOTHING_WRITTEN)
    if not quiet:
        err.print(
            f"[green]done:[/] {result.frames_in} -> {result.frames_out} frames "
            f"({result.interpolated} interpolated, {result.scene_cuts} scene cuts"
            + (f", {result.repeats} repeats dropped" if result.repeats else "") + ") in "
            f"{result.seconds:.1f} s, {result.input_fps:.1f} input fps -> {result.output}"
        )
        if result.synced:
            err.print(f"reference offset found: {result.synced.offset:+.3f} s (match "
                      f"{result.synced.match:.2f})")
        if result.keyframes:
            err.print(f"colour: {result.keyframes} keyframes, {result.colourised} frames "
                      f"colourised by {result.colouriser}"
                      + (f"; {result.adapted.describe()}" if result.adapted else ""))


@app.command("batch")
def batch_command(
    input_dir: Annotated[Path, typer.Argument(help="Folder of videos.", show_default=False)],
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Output folder; the input's subfolders are mirrored in it.",
        show_default=False)],
    pattern: Annotated[list[str] | None, typer.Option(
        help="File name glob, repeatable (default: common video extensions).",
        show_default=False)] = None,
    recursive: Annotated[bool, typer.Option(
        "--recursive", "-r", help="Also look in subfolders.")] = False,
    ext: Annotated[str | None, typer.Option(
        help="Output container for every file (default: the input's where vidfuse writes it, "
             "else mkv).", show_default=False)] = None,
    jobs: Annotated[int, typer.Option(
        help="Files processed in parallel on this machine; the cores are split between "
             "them.")] = 1,
    cluster: Annotated[str | None, typer.Option(
        help="Run on a Ray cluster instead: ray://HOST:PORT, or auto (RAY_ADDRESS or a local "
             "cluster). Needs pip install 'vidfuse\\[ray]'.", show_default=False)] = None,
    report: Annotated[Path | None, typer.Option(
        help="Write every file's result here as JSON.", show_default=False)] = None,
    factor: Factor = 2,
    fps: Fps = None,
    slowmo: Slowmo = False,
    start: Start = None,
    duration: Duration = None,
    engine: Engine = "auto",
    scene_threshold: SceneThreshold = DEFAULT_SCENE_THRESHOLD,
    dedup: Dedup = False,
    dedup_threshold: DedupThreshold = DEFAULT_REPEAT_THRESHOLD,
    codec: Codec = None,
    crf: Crf = None,
    preset: Preset = None,
    pix_fmt: PixFmt = None,
    encoder_opt: EncoderOpt = None,
    no_audio: NoAudio = False,
    keyframe_every: KeyframeEvery = None,
    colouriser: ColouriserName = "auto",
    adapt: Adapt = None,
    weights: Weights = None,
    colour_weights: ColourWeights = None,
    device: Device = "auto",
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Redo files whose output already exists.")] = False,
    quiet: Quiet = False,
) -> None:
    """Upscale every video in a folder with the same options.

    Finished outputs are skipped on a re-run (interrupted ones are redone);
    a file that fails is reported and the rest go on. Exit code 0 only if
    every file succeeded.

    Examples:

      vidfuse batch clips/ --out smooth/ --recursive

      vidfuse batch clips/ --out smooth/ --jobs 2 --report report.json

      vidfuse batch /shared/clips --out /shared/out --cluster ray://head:10001
    """
    template = _guarded(lambda: _options(
        input_dir, out, factor, fps, slowmo, engine, scene_threshold, dedup, dedup_threshold,
        codec, crf, preset, pix_fmt, encoder_opt, no_audio, keyframe_every, colouriser, adapt,
        weights, colour_weights, device, start, duration))
    if jobs < 1:
        _fail(f"--jobs must be 1 or more, not {jobs}", 2)
    pairs = _guarded(lambda: plan(input_dir, out, pattern or DEFAULT_PATTERNS, recursive, ext))
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=err, transient=True,
                        disable=quiet or not err.is_terminal)
    overall = progress.add_task("files", total=len(pairs))
    current = _BatchFileObserver(progress) if jobs == 1 and cluster is None else None

    def finished(result: FileResult) -> None:
        progress.advance(overall)
        if result.status == "failed" and not quiet:
            err.print(f"[red]failed:[/] {result.file}: {result.error}", soft_wrap=True)

    interrupted = False
    with progress:
        try:
            results = run_batch(template, pairs, jobs, cluster, overwrite, finished, current,
                                cancel=_stop_requested)
        except BatchInterrupted as stop:
            results, interrupted = stop.results, True
        except VidfuseError as exc:
            _fail(str(exc), exc.exit_code)
    _print_batch_summary(results, input_dir, quiet)
    if report is not None:
        report.write_text(json.dumps([dataclasses.asdict(r) for r in results], indent=2) + "\n")
    if interrupted:
        _fail("interrupted; finished files are kept, no partial output was left",
              _interrupted_exit_code())
    if any(r.status != "done" and r.status != "skipped" for r in results):
        raise typer.Exit(1)


class _BatchFileObserver(SilentObserver):
    """The current file's progress bar under the overall one (``--jobs 1``)."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def started(self, info: SourceInfo, engine: Interpolator) -> None:
        if self._task is not None:
            self._progress.remove_task(self._task)
        self._task = self._progress.add_task(info.path.name, total=info.frame_count)

    def advanced(self, counts: StreamCounts) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=counts.frames_read)

    def warning(self, message: str) -> None:
        self._progress.console.print(f"[yellow]warning:[/] {message}")


def _print_batch_summary(results: list[FileResult], root: Path, quiet: bool) -> None:
    counts = {status: sum(r.status == status for r in results)
              for status in ("done", "skipped", "failed", "cancelled")}
    if not quiet:
        table = Table(title="batch summary")
        for column in ("file", "status", "frames", "seconds", "fps", "error"):
            table.add_column(column, overflow="fold",
                             justify="right" if column in ("frames", "seconds", "fps")
                             else "left")
        for r in results:
            colour = {"done": "green", "skipped": "cyan", "failed": "red"}.get(r.status,
                                                                                "yellow")
            table.add_row(str(Path(r.file).relative_to(root)), f"[{colour}]{r.status}[/]",
                          str(r.frames or ""), f"{r.seconds:.1f}" if r.seconds else "",
                          f"{r.fps:.1f}" if r.fps else "", r.error)
        out.print(table)
        err.print(", ".join(f"{n} {s}" for s, n in counts.items() if n)
                  + f" of {len(results)}")


@app.command("eval")
def eval_command(
    clip: Annotated[Path, typer.Argument(help="A colour video to score against.",
                                         show_default=False)],
    keyframe_every: Annotated[int, typer.Option(
        help="Keep the colour of every N-th frame; rebuild the rest.")] = 8,
    factor: Annotated[int, typer.Option(
        help="Keep every F-th frame; rebuild the rest by interpolation.")] = 2,
    frames: Annotated[int, typer.Option(
        help="Frames read from the start of the clip (all are held in memory).")] = 97,
    engine: Annotated[str, typer.Option(
        help=f"Engine for the fusion row: auto (= {engines.AUTO_ENGINE}), "
             + ", ".join(engines.available()) + ".")] = "auto",
    colouriser: Annotated[str, typer.Option(
        help=f"Colouriser for the fusion row: auto (= {colourisers.AUTO_COLOURISER}), "
             + ", ".join(colourisers.available()) + ".")] = "auto",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
        = False,
) -> None:
    """Score colour and interpolation against ground truth on a colour clip.

    Simulates the sparse-colour input (colour every N-th frame) and the low frame rate (every
    F-th frame), rebuilds what was hidden, and prints PSNR (RGB, dB) and SSIM next to the
    baselines, all measured in this run: nearest-keyframe and DIS-warped chroma for colour;
    frame repetition, blend, flow and FFmpeg minterpolate for time. "Stability" is the mean
    frame-to-frame chroma change on static pixels (lower is steadier; compare with the
    truth's own). Validate on clips the models never trained on (docs/data.md).
    """
    from vidfuse.device import resolve_device
    from vidfuse.evaluate import Clip, evaluate_colour, evaluate_fusion, evaluate_time

    def run() -> dict[str, object]:
        if keyframe_every < 2 or factor < 2 or frames < 2 * factor:
            raise UsageError("--keyframe-every and --factor must be 2 or more, and --frames at "
                             "least twice --factor")
        where = resolve_device(device)
        loaded = Clip.load(clip, frames)
        chosen_colour = colourisers.COLOURISERS.resolve(colouriser)
        colour_names = list(dict.fromkeys(["nearest", "flow", "ae", chosen_colour]))
        time_names = list(dict.fromkeys(["blend", "flow", engines.AUTO_ENGINE, "convlstm",
                                         *([] if engine == "auto" else [engine])]))
        return {
            "clip": str(clip), "frames": len(loaded.pictures), "colouriser": chosen_colour,
            "engine": engines.ENGINES.resolve(engine),
            "colour": evaluate_colour(loaded, colour_names, keyframe_every, where),
            "time": evaluate_time(loaded, time_names, factor, where),
            "fusion": evaluate_fusion(loaded, colouriser, engine, keyframe_every, factor,
                                      where),
        }

    report = _guarded(run)
    if as_json:
        def plain(value: object) -> object:
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if hasattr(value, "as_dict"):
                return plain(value.as_dict())
            return None if value == float("inf") else value  # JSON has no infinity

        out.print_json(json.dumps(plain(report)))
        return
    title = f"{clip.name}, first {report['frames']} frames"
    for section, heading in (("colour", f"colour kept on 1 frame in {keyframe_every}"),
                             ("time", f"x{factor} frame rate from 1 frame in {factor}")):
        table = Table(title=f"{title}: {heading}")
        for column in ("method", "PSNR dB", "SSIM", "stability"):
            table.add_column(column, justify="left" if column == "method" else "right")
        for name, score in report[section].items():  # type: ignore[attr-defined]
            table.add_row(name, "-" if name == "truth" else f"{score.psnr:.2f}",
                          "-" if name == "truth" else f"{score.ssim:.4f}",
                          "" if score.stability is None else f"{score.stability:.3f}")
        out.print(table)
    fused = report["fusion"]
    out.print(f"fusion ({report['colouriser']} colour + {report['engine']} engine, x{factor}, "
              f"colour on 1 frame in {keyframe_every}): {fused.psnr:.2f} dB, "  # type: ignore[attr-defined]
              f"SSIM {fused.ssim:.4f}, stability {fused.stability:.3f}")  # type: ignore[attr-defined]


@app.command("info")
def info_command(
    input: Annotated[Path, typer.Argument(help="Video file or image directory.",
                                          show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the facts as JSON, for "
                                                         "scripts.")] = False,
) -> None:
    """Show streams, size, frame rate (and whether it varies), frame count, colour and audio."""
    media = _guarded(lambda: probe(input))
    if as_json:
        out.print_json(json.dumps(media.as_dict()))
        return
    table = Table(show_header=False, box=None)
    table.add_row("file", str(media.path))
    table.add_row("container", media.container)
    table.add_row("video", f"{media.codec} {media.width}x{media.height} {media.pix_fmt}")
    if media.pixel_aspect != 1:
        table.add_row("pixels", f"{media.pixel_aspect.numerator}:"
                      f"{media.pixel_aspect.denominator} wide (shown at "
                      f"{media.display_aspect:.3f}:1)")
    table.add_row("frame rate", f"{media.average_fps:.3f} fps average"
                  + (" (variable)" if media.variable_frame_rate else " (constant)"))
    table.add_row("scan", "interlaced" if media.interlaced else "progressive")
    table.add_row("frames", str(media.frame_count))
    table.add_row("duration", f"{media.duration:.3f} s")
    table.add_row("colour", media.colour.describe())
    if media.hdr is not None:
        table.add_row("HDR", media.hdr.describe())
    table.add_row("rotation", f"{media.rotation} degrees")
    if media.transparent:
        table.add_row("alpha", "transparent pixels")
    for stream in media.streams:
        table.add_row(f"stream {stream.index}", f"{stream.kind}: {stream.codec} {stream.detail}")
    if not media.audio_streams:
        table.add_row("audio", "none")
    for number, chapter in enumerate(media.chapters, 1):
        table.add_row(f"chapter {number}", f"{chapter.start:.3f}-{chapter.end:.3f} s "
                      + chapter.metadata.get("title", ""))
    out.print(table)


weights_app = typer.Typer(help="List, download, verify and manage weight sets.",
                          no_args_is_help=True)
app.add_typer(weights_app, name="weights")


@weights_app.command("list")
def weights_list() -> None:
    """Known weight sets: shipped, downloadable and registered, and whether each is here
    (`vidfuse weights path NAME` prints the file; the cache is shown below the table)."""
    from vidfuse.weights import hub

    table = Table()
    for column in ("name", "task", "size", "installed", "where", "licence"):
        table.add_column(column, no_wrap=True)
    table.add_column("validation")
    for name, entry in sorted(_guarded(hub.known).items()):
        path = hub.installed_path(entry)
        table.add_row(name, entry.task, f"{entry.size / 1e6:.2f} MB",
                      "yes" if path else "no", "package" if entry.shipped else "cache",
                      entry.licence, str(entry.metrics.get("summary", "")))
    out.print(table)
    out.print(f"cache: {hub.cache_dir()}", soft_wrap=True)


@weights_app.command("download")
def weights_download(
    name: Annotated[str, typer.Argument(help="A name from `vidfuse weights list`.",
                                        show_default=False)],
    force: Annotated[bool, typer.Option("--force", help="Download again even if present.")]
        = False,
) -> None:
    """Download into the cache with a progress bar, resuming, verified by sha256 and size."""
    from vidfuse.weights import hub

    def run() -> Path:
        entry = hub.lookup(name)
        with Progress(TextColumn(name), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                      console=err, transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task("download", total=entry.size)
            return hub.download(entry, force,
                                progress=lambda done, total: bar.update(task, completed=done))

    err.print(f"[green]ok:[/] {_guarded(run)}")


@weights_app.command("verify")
def weights_verify() -> None:
    """Re-hash every installed weight file; exit code 1 if any does not match."""
    from vidfuse.weights import hub

    results = _guarded(hub.verify)
    for name, ok in results.items():
        state = {True: "[green]ok[/]", False: "[red]MISMATCH[/]", None: "not installed"}[ok]
        out.print(f"{name}: {state}")
    if any(ok is False for ok in results.values()):
        _fail("some weight files do not match their manifest: `vidfuse weights download "
              "NAME --force` replaces them", 1)


@weights_app.command("path")
def weights_path(name: Annotated[str, typer.Argument(show_default=False)]) -> None:
    """Print where the weights called NAME are (exit 1 if not installed)."""
    from vidfuse.weights import hub

    path = _guarded(lambda: hub.installed_path(hub.lookup(name)))
    if path is None:
        _fail(f"weights '{name}' are not installed: vidfuse weights download {name}", 1)
    out.print(str(path), soft_wrap=True)


@weights_app.command("remove")
def weights_remove(name: Annotated[str, typer.Argument(show_default=False)]) -> None:
    """Delete downloaded or registered weights from the cache (shipped ones stay)."""
    from vidfuse.weights import hub

    err.print(f"removed {_guarded(lambda: hub.remove(name))}")


@weights_app.command("register")
def weights_register(
    name: Annotated[str, typer.Argument(help="Name to use with --weights.",
                                        show_default=False)],
    file: Annotated[Path, typer.Argument(help="A .safetensors file from `vidfuse train "
                                              "export` (its .json card is copied too).",
                                         show_default=False)],
    task: Annotated[str, typer.Option(help="interp or colour.")] = "interp",
) -> None:
    """Add your own trained weights to the local manifest, with their sha256."""
    from vidfuse.weights import hub

    entry = _guarded(lambda: hub.register(name, file, task))
    err.print(f"registered {entry.name} ({entry.task}, sha256 {entry.sha256[:12]}…): use "
              f"--{'colour-' if task == 'colour' else ''}weights {entry.name}")


@app.command("train", add_help_option=False,
             context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train_command(ctx: typer.Context) -> None:
    """Train the learned models: build-interp, interp, build-colour, colour, export.

    The same entry point runs under torchrun for multi-process training:
    torchrun --nproc-per-node 2 -m vidfuse.train interp --bank train.npz --out runs/a
    """
    from vidfuse.train.__main__ import main as train_main

    train_main(ctx.args or ["--help"])


_stop_requested = threading.Event()
_stop_signal = [signal.SIGINT]  # the signal that asked to stop (Ctrl-C when none did)


def _interrupted_exit_code() -> int:
    """128 + the signal's number, as shells report it: 130 for Ctrl-C, 143 for SIGTERM."""
    return 128 + _stop_signal[0]


def _on_stop_signal(signum: int, frame: object) -> None:
    """Ctrl-C and SIGTERM: set the cancel event the running command was given, then
    interrupt. Python drops an exception raised while it runs a finaliser or weakref
    callback; the event still stops the run at its next frame or file (``Cancelled``).

    A second one while that clean stop runs quits at once, as ffmpeg does: nothing is
    renamed into place, and the hidden partial file is removed by the next run to that
    output."""
    if _stop_requested.is_set():
        err.print("[red]error:[/] interrupted again: stopped at once", soft_wrap=True)
        os._exit(_interrupted_exit_code())
    _stop_signal[0] = signal.Signals(signum)
    _stop_requested.set()
    raise KeyboardInterrupt


def main() -> None:
    """Entry point: SIGTERM is treated like Ctrl-C so outputs are cleaned up either way."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not signal.SIG_IGN:  # nohup/background: respect it
            signal.signal(signum, _on_stop_signal)
    app(prog_name="vidfuse")
    sys.exit(0)
