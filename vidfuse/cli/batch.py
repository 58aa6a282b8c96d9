"""`vidfuse batch`: every video in a folder, on this machine's cores or a Ray cluster."""

from __future__ import annotations

import dataclasses
import json
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
)
from rich.table import Table

from vidfuse.api import SilentObserver
from vidfuse.batch import DEFAULT_PATTERNS, BatchInterrupted, FileResult, plan, run_batch
from vidfuse.cli import _options as shared
from vidfuse.cli._app import err, fail, flag, guarded, interrupted_exit_code, out, stop_requested
from vidfuse.cli._options import upscale_options
from vidfuse.dedup import DEFAULT_REPEAT_THRESHOLD
from vidfuse.engines import Interpolator
from vidfuse.errors import VidfuseError
from vidfuse.framerate import StreamCounts
from vidfuse.scene import DEFAULT_SCENE_THRESHOLD
from vidfuse.video.media import SourceInfo


def batch_command(
    input_dir: Annotated[Path, typer.Argument(metavar="INPUT_DIR", help="Folder of videos.",
                                              show_default=False)],
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Output folder; the input's subfolders are mirrored in it.",
        show_default=False)],
    pattern: Annotated[list[str] | None, typer.Option(
        metavar="GLOB", help="File name glob, repeatable (default: common video extensions).",
        show_default=False)] = None,
    recursive: Annotated[bool, flag(
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
    keyframe_every: shared.KeyframeEvery = None,
    colouriser: shared.ColouriserName = "auto",
    adapt: shared.Adapt = None,
    weights: shared.Weights = None,
    colour_weights: shared.ColourWeights = None,
    device: shared.Device = "auto",
    segment: shared.Segment = None,
    overwrite: Annotated[bool, flag(
        "--overwrite", help="Redo files whose output already exists.")] = False,
    quiet: shared.Quiet = False,
) -> None:
    """Upscale every video in a folder with the same options.

    Finished outputs are skipped on a re-run (interrupted ones are redone);
    a file that fails is reported and the rest go on. Exit code 0 only if
    every file succeeded.

    Examples:

      vidfuse batch clips/ --out smooth/ --recursive

      vidfuse batch clips/ --out smooth/ --jobs 2 --report report.json

      vidfuse batch /shared/clips --out /shared/out --cluster ray://head:10001

    Videos of 3 minutes or more are made in segments (see upscale --help): on a
    cluster their segments are spread over the nodes too.
    """
    template = guarded(lambda: upscale_options(
        input_dir, out, fps=fps, start=start, duration=duration, codec=codec, crf=crf,
        preset=preset, pix_fmt=pix_fmt, encoder_opt=encoder_opt, no_audio=no_audio,
        factor=factor, slowmo=slowmo, engine=engine, scene_threshold=scene_threshold,
        dedup=dedup, dedup_threshold=dedup_threshold, deinterlace=deinterlace,
        keyframe_every=keyframe_every, colouriser=colouriser, adapt=adapt, weights=weights,
        colour_weights=colour_weights, device=device, segment=segment))
    if jobs < 1:
        fail(f"--jobs must be 1 or more, not {jobs}", 2)
    pairs = guarded(lambda: plan(input_dir, out, pattern or DEFAULT_PATTERNS, recursive, ext))
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=err, transient=True,
                        disable=quiet or not err.is_terminal)
    overall = progress.add_task("files", total=len(pairs))
    current = _BatchFileObserver(progress) if jobs == 1 and cluster is None else None

    def finished(result: FileResult) -> None:
        progress.advance(overall)
        if result.status == "failed" and not quiet:
            err.print(f"[red]failed:[/] {escape(f'{result.file}: {result.error}')}", soft_wrap=True)

    interrupted = False
    with progress:
        try:
            results = run_batch(template, pairs, jobs, cluster, overwrite, finished, current,
                                cancel=stop_requested)
        except BatchInterrupted as stop:
            results, interrupted = stop.results, True
        except VidfuseError as exc:
            fail(str(exc), exc.exit_code)
    _print_batch_summary(results, input_dir, quiet)
    if report is not None:
        report.write_text(json.dumps([dataclasses.asdict(r) for r in results], indent=2) + "\n")
    if interrupted:
        fail("interrupted; finished files are kept, no partial output was left",
              interrupted_exit_code())
    if any(r.status not in ("done", "skipped", "busy") for r in results):
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
        self._progress.console.print(f"[yellow]warning:[/] {escape(message)}")


def _print_batch_summary(results: list[FileResult], root: Path, quiet: bool) -> None:
    counts = {status: sum(r.status == status for r in results)
              for status in ("done", "skipped", "busy", "failed", "cancelled")}
    if not quiet:
        table = Table(title="batch summary")
        for column in ("file", "status", "frames", "seconds", "fps", "error"):
            table.add_column(column, overflow="fold",
                             justify="right" if column in ("frames", "seconds", "fps")
                             else "left")
        for r in results:
            colour = {"done": "green", "skipped": "cyan", "busy": "cyan",
                      "failed": "red"}.get(r.status,
                                                                                "yellow")
            table.add_row(str(Path(r.file).relative_to(root)), f"[{colour}]{r.status}[/]",
                          str(r.frames or ""), f"{r.seconds:.1f}" if r.seconds else "",
                          f"{r.fps:.1f}" if r.fps else "", r.error)
        out.print(table)
        err.print(", ".join(f"{n} {s}" for s, n in counts.items() if n)
                  + f" of {len(results)}")

