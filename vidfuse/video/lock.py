"""One writer per output: an advisory lock that two runs to the same output (two terminals,
an overlapping cron job, two batches over one folder, a retried cluster task) cannot both
hold.

The lock is ``flock`` on ``.NAME.vidfuse-lock`` beside the output, holding the writer's pid,
taken before any work and released once the output is in place (or the run has failed). The
kernel releases it when its holder dies however it dies (SIGKILL, power loss), so a lock file
left behind means nothing: a later run takes it at once, and only then sweeps the dead run's
temporary files and resumes its segments. ``flock`` is reliable on local disks; on network
file systems it holds only where the server supports it (NFSv4 does; some SMB and FUSE
mounts do not), which docs/usage.md says.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from vidfuse.errors import OutputError
from vidfuse.video.pipes import is_pipe

_held: set[Path] = set()  # outputs this process is writing (batch locks before upscale does)


class OutputBusy(OutputError):
    """Another live process is writing the same output."""


def lock_path(final: Path) -> Path:
    return final.parent / f".{final.name}.vidfuse-lock"


@contextlib.contextmanager
def output_lock(final: Path) -> Iterator[None]:
    """Hold the lock of ``final`` for the duration, or raise :class:`OutputBusy` at once
    naming the process that holds it. Re-entrant within a process; a pipe has no lock."""
    key = final.resolve() if not is_pipe(final) else final
    if is_pipe(final) or key in _held:
        yield
        return
    descriptor = _acquire(lock_path(key), final)
    _held.add(key)
    try:
        yield
    finally:
        _held.discard(key)
        with contextlib.suppress(OSError):
            lock_path(key).unlink()  # still held: no one else has it open and locked
        os.close(descriptor)


def _acquire(path: Path, final: Path) -> int:
    """The open, locked lock file, its content our pid. A file another process unlinked
    between our open and our lock is not the lock any more: open again."""
    while True:
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(f"cannot lock {final}: {exc.strerror}") from exc
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "?"
            os.close(descriptor)
            raise OutputBusy(f"another vidfuse (pid {holder}) is writing {final.name}: "
                             "wait for it, or choose another output") from None
        try:
            same = os.fstat(descriptor).st_ino == path.stat().st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
            return descriptor
        os.close(descriptor)
