"""`vidfuse info`: what a file holds, as a table or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vidfuse.cli._app import flag, guarded, out
from vidfuse.video.probe import probe


def info_command(
    input: Annotated[Path, typer.Argument(metavar="INPUT", help="Video file or image directory.",
                                          show_default=False)],
    as_json: Annotated[bool, flag("--json", help="Print the facts as JSON, for "
                                                         "scripts.")] = False,
) -> None:
    """Show streams, size, frame rate (and whether it varies), frame count, colour and audio."""
    media = guarded(lambda: probe(input))
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

