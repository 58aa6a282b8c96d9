"""Overlapping decode, compute and encode: bounded background threads.

PyAV, OpenCV and torch release the GIL in their heavy calls, so decoding the next frames and
encoding finished ones can run while an engine works on the current pair. Queues are small
and bounded, so memory stays flat; an exception in a worker is re-raised in the caller.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
_POLL = 0.1


@dataclass
class _Failure:
    error: BaseException


_END = object()


def _put(target: queue.Queue[object], item: object, stop: threading.Event) -> bool:
    """Blocking put that gives up when ``stop`` is set; False if it gave up."""
    while not stop.is_set():
        try:
            target.put(item, timeout=_POLL)
            return True
        except queue.Full:
            continue
    return False


def prefetched(items: Iterator[T], depth: int = 4) -> Generator[T, None, None]:
    """Yield ``items``, produced ahead by a background thread (at most ``depth`` waiting).

    Once the consumer stops (finished, failed or interrupted), ``items`` is never pulled
    again: the caller may close what it reads from, such as a demuxer, right after.
    """
    pending: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    # Held while ``items`` is in use. A join is not enough: Ctrl-C can land while start()
    # waits for the new thread, which then runs unjoined; taking this lock waits for it.
    reading = threading.Lock()

    def produce() -> None:
        with reading:
            if stop.is_set():
                return
            try:
                for item in items:
                    if not _put(pending, item, stop):
                        return
                _put(pending, _END, stop)
            except BaseException as error:
                _put(pending, _Failure(error), stop)

    worker = threading.Thread(target=produce, name="vidfuse-decode", daemon=True)
    try:
        worker.start()
        while True:
            item = pending.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        # No time limit: closing the source under a read still running can crash the process.
        # A read that never returns (a stalled pipe) is left to a second Ctrl-C, which exits.
        with reading:
            pass


class BackgroundCalls(Generic[T]):
    """Runs calls on one worker thread in the order they are submitted.

    Used for the sink: video frames (from the compute thread) and audio packets (from the
    decode thread) reach the muxer from this single thread, never concurrently.
    """

    def __init__(self, depth: int = 8) -> None:
        self._calls: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._worker = threading.Thread(target=self._run, name="vidfuse-encode", daemon=True)
        self._worker.start()

    def _run(self) -> None:
        while True:
            call = self._calls.get()
            if call is _END:
                return
            if self._error is None:
                try:
                    call()  # type: ignore[operator]
                except BaseException as error:
                    self._error = error

    def submit(self, call: Callable[[], object]) -> None:
        """Queue ``call``; raises the first error an earlier call hit."""
        if self._error is not None:
            raise self._error
        _put(self._calls, call, self._stop)

    def finish(self) -> None:
        """Wait until every submitted call has run; re-raise the first error."""
        _put(self._calls, _END, self._stop)
        self._worker.join()
        if self._error is not None:
            raise self._error

    def cancel(self) -> None:
        """Stop without running what is still queued."""
        self._stop.set()
        self._error = self._error or _Cancelled()
        try:
            while True:
                self._calls.get_nowait()
        except queue.Empty:
            pass
        self._calls.put(_END)
        self._worker.join()  # unbounded, as in `prefetched`: the output closes after this


class _Cancelled(Exception):
    """Marks calls skipped because the run was cancelled."""
