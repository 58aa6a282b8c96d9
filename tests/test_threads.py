"""Background decode/encode threads: order kept, errors surfaced, nothing left running."""

from __future__ import annotations

import threading
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


def test_prefetched_stops_its_thread_when_the_consumer_stops() -> None:
    before = threading.active_count()
    for item in prefetched(iter(range(10_000)), depth=2):
        if item == 3:
            break
    assert threading.active_count() == before


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
