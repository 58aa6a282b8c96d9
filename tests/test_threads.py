"""Background decode/encode threads: order kept, errors surfaced, nothing left running."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator

import pytest

from vidfuse.threads import BackgroundCalls, prefetched


def test_prefetched_keeps_order_and_reraises_producer_errors() -> None:
    assert list(prefetched(iter(range(100)), depth=2)) == list(range(100))

    def broken() -> Iterator[int]:
        yield 1
        raise ValueError("decoder broke")

    with pytest.raises(ValueError, match="decoder broke"):
        list(prefetched(broken()))


def test_prefetched_stops_reading_when_the_consumer_stops() -> None:
    before = threading.active_count()
    pulled = _Recorder()
    for item in prefetched(pulled.items(), depth=100):
        if item == 3:
            break
    pulled.assert_none_after_close()
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == before


def test_prefetched_stops_reading_when_interrupted_while_starting_its_thread(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Ctrl-C can land while Thread.start waits for the new thread: that thread then runs
    # unjoined, and must still not read from a source the caller goes on to close.
    start = threading.Thread.start

    def interrupted_start(thread: threading.Thread) -> None:
        start(thread)
        raise KeyboardInterrupt

    monkeypatch.setattr(threading.Thread, "start", interrupted_start)
    pulled = _Recorder()
    with pytest.raises(KeyboardInterrupt):
        next(prefetched(pulled.items(), depth=100))
    pulled.assert_none_after_close()


class _Recorder:
    """A slow endless source (like a decoder) that notes items pulled after it was closed."""

    def __init__(self) -> None:
        self.closed = False
        self.late: list[int] = []

    def items(self) -> Iterator[int]:
        for index in itertools.count():
            time.sleep(0.01)
            if self.closed:
                self.late.append(index)
            yield index

    def assert_none_after_close(self) -> None:
        self.closed = True
        time.sleep(0.3)
        assert self.late == []


def test_background_calls_run_in_order_and_surface_the_first_error() -> None:
    seen: list[int] = []
    calls = BackgroundCalls(depth=2)
    for i in range(50):
        calls.submit(lambda i=i: seen.append(i))
    calls.finish()
    assert seen == list(range(50))

    failing = BackgroundCalls()
    failing.submit(lambda: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        failing.finish()
