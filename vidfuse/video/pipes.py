"""``-`` as the input or ``--out``: video through standard input and output, so vidfuse sits in
a shell pipeline between other tools, as ffmpeg does with ``pipe:``::

    ffmpeg -i in.mov -vf crop=1280:720 -f matroska - | vidfuse upscale - --out - | mpv -

A pipe is read or written once, front to back. So piped output is Matroska (it needs no
seeking back to finish) and is not written under a temporary name (there is nothing to
rename: a failed run ends the stream early and exits non-zero); ``--adapt``, which reads the
input a second time, is off for piped input.
"""

from __future__ import annotations

import sys
from pathlib import Path

from vidfuse.errors import UsageError

PIPE = Path("-")
PIPE_FORMAT = "matroska"


def is_pipe(path: Path) -> bool:
    return str(path) == "-"


def ffmpeg_url(path: Path, write: bool) -> str:
    """What FFmpeg opens for ``path``: its pipe protocol on the standard stream for ``-``."""
    if is_pipe(path):
        return "pipe:1" if write else "pipe:0"
    return str(path)


def check_pipes(input: Path, output: Path) -> None:
    """Refuse a pipe that ends at a terminal: video typed in, or printed as text."""
    if is_pipe(input) and sys.stdin.isatty():
        raise UsageError("input - reads video from standard input; pipe it in "
                         "(ffmpeg -i in.mov -f matroska - | vidfuse upscale - ...)")
    if is_pipe(output) and sys.stdout.isatty():
        raise UsageError("--out - writes video to standard output; pipe it into a program "
                         "(... --out - | mpv -) or give a file name")
