"""Write outputs under a temporary name and move them into place only when complete.

A crash, an error or Ctrl-C then never leaves a half-written file under the name the user
asked for, and a batch re-run can tell finished outputs from interrupted ones.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vidfuse.video.pipes import is_pipe

TEMP_MARKER = ".vidfuse-partial-"
_TAG = 8  # hex digits that make a temporary name unique


def temp_name_for(final: Path) -> Path:
    """A unique sibling of ``final`` that keeps its extension (muxers pick formats by it)."""
    return final.with_name(f".{final.stem}{TEMP_MARKER}{uuid.uuid4().hex[:_TAG]}{final.suffix}")


def _remove_stale_temps(final: Path) -> None:
    """Delete temporary siblings of ``final`` left by runs that were killed mid-write (only
    names exactly of its pattern: clip.mp4's leftovers are not an output ``clip``'s)."""
    pattern = f".{final.stem}{TEMP_MARKER}{'[0-9a-f]' * _TAG}{final.suffix}"
    for stale in final.parent.glob(pattern):
        _remove(stale)


@contextmanager
def atomic_output(final: Path) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``final``, on any failure it is removed.

    Leftovers of earlier runs to ``final`` that were killed mid-write go first. A pipe
    (``-``) has nothing to rename: it is written directly."""
    if is_pipe(final):
        yield final
        return
    _remove_stale_temps(final)
    temp = temp_name_for(final)
    try:
        yield temp
    except BaseException:
        _remove(temp)
        raise
    if final.is_dir() and temp.is_dir():
        # Directories cannot be replaced atomically; move the old one aside first.
        old = temp_name_for(final)
        final.rename(old)
        temp.rename(final)
        _remove(old)
    else:
        os.replace(temp, final)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
