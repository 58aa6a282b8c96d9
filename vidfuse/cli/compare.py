"""`vidfuse compare`: several versions of a video in one, in step, labelled."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from vidfuse.cli import _options as shared
from vidfuse.cli._app import err, flag, guarded, stop_requested
from vidfuse.options import SilentObserver
from vidfuse.video.span import Span, parse_seconds
from vidfuse.video.writer import EncodeSettings

if TYPE_CHECKING:
    from vidfuse.compare import CompareResult


def compare_command(
    videos: Annotated[list[Path], typer.Argument(
        metavar="VIDEO...", help="Two or more videos: the reference (the truth, or the input) "
                                 "first, then the versions to judge against it.",
        show_default=False)],
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="The comparison video (.mp4/.mkv/.mov/.webm), or - for standard "
                            "output (Matroska, e.g. | mpv -).", show_default=False)],
    label: Annotated[list[str] | None, typer.Option(
        metavar="TEXT", help="A label per video, in order (default: the file names).",
        show_default=False)] = None,
    layout: Annotated[str, typer.Option(help="row: side by side; column: stacked.")] = "row",
    split: Annotated[float | None, typer.Option(
        help="Two videos as one picture: the first left of this fraction of the width, the "
             "second right of it.", show_default=False)] = None,
    zoom: Annotated[str | None, typer.Option(
        metavar="X,Y,W,H", help="Show only this region (pixels of the largest video), "
                                "magnified without smoothing.", show_default=False)] = None,
    diff: Annotated[bool, flag(
        "--diff", help="Add each later video's error against the first, as a heat map.")]
        = False,
    start: shared.Start = None,
    duration: shared.Duration = None,
    codec: shared.Codec = None,
    crf: shared.Crf = None,
    overwrite: Annotated[bool, flag("--overwrite", help="Replace OUT if it exists.")] = False,
) -> None:
    """Play videos side by side (or stacked, or split), in step and labelled, to judge by eye.

    Each video runs on its own clock from its first frame, at the highest of their frame
    rates: a slower one holds each frame until its next. A smaller video is scaled to the
    largest (with a warning).

    Examples:

      vidfuse compare clip.mp4 clip_x2.mp4 --out cmp.mp4

      vidfuse compare truth.mp4 flow.mp4 rife.mp4 --diff --out cmp.mkv

      vidfuse compare clip.mp4 clip_x2.mp4 --split 0.5 --out - | mpv -

      vidfuse compare a.mp4 b.mp4 --zoom 400,200,160,90 --out zoom.mp4
    """
    from vidfuse.compare import CompareOptions, Zoom, compare

    def run() -> CompareResult:
        options = CompareOptions(
            videos, out, labels=label, layout=layout, split=split,
            zoom=Zoom.parse(zoom) if zoom else None, diff=diff,
            span=Span(parse_seconds(start, "--start") if start else 0.0,
                      parse_seconds(duration, "--duration") if duration else None),
            encode=EncodeSettings(codec=codec, crf=crf), overwrite=overwrite)
        return compare(options, _Warnings(), cancel=stop_requested)

    result = guarded(run)
    err.print(f"[green]done:[/] {result.frames} frames at {float(result.frame_rate):.3f} fps, "
              f"{result.size[0]}x{result.size[1]} -> {result.output}", soft_wrap=True)


class _Warnings(SilentObserver):
    """Compare reports only warnings, on stderr."""

    def warning(self, message: str) -> None:
        err.print(f"[yellow]warning:[/] {escape(message)}")
