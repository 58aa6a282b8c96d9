"""`--deinterlace`: each interlaced frame rebuilt whole before anything is interpolated.

An interlaced frame weaves two fields recorded 1/50 s (or 1/60 s) apart; interpolating
between such frames moves the combing along with the picture. FFmpeg's bwdif fills each
field's missing lines from both fields and the neighbouring frames, one frame out per frame
in (frames not flagged interlaced pass through untouched), so the frame rate, count and
timestamps stay the input's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction

import av
import av.filter

_BWDIF = "mode=send_frame:parity=auto:deint=interlaced"


def deinterlaced(frames: Iterable[av.VideoFrame]) -> Iterator[av.VideoFrame]:
    """``frames`` with every interlaced one deinterlaced, timestamps as they were.

    bwdif holds one frame back (it looks at the next), so memory stays at a few frames. A
    change of size or pixel format mid-stream starts a new filter after draining the old.
    """
    graph: av.filter.Graph | None = None
    shape: tuple[int, int, str] | None = None
    for frame in frames:
        if graph is None or (frame.width, frame.height, frame.format.name) != shape:
            if graph is not None:
                yield from _drain(graph)
            graph = _graph(frame)
            shape = (frame.width, frame.height, frame.format.name)
        graph.push(frame)
        yield from _pulled(graph)
    if graph is not None:
        yield from _drain(graph)


def _graph(frame: av.VideoFrame) -> av.filter.Graph:
    graph = av.filter.Graph()
    source = graph.add_buffer(width=frame.width, height=frame.height, format=frame.format,
                              time_base=frame.time_base or Fraction(1, 1000))
    bwdif = graph.add("bwdif", _BWDIF)
    sink = graph.add("buffersink")
    source.link_to(bwdif)
    bwdif.link_to(sink)
    graph.configure()
    return graph


def _pulled(graph: av.filter.Graph) -> Iterator[av.VideoFrame]:
    while True:
        try:
            yield graph.vpull()
        except (av.error.BlockingIOError, av.error.EOFError):
            return


def _drain(graph: av.filter.Graph) -> Iterator[av.VideoFrame]:
    graph.push(None)
    yield from _pulled(graph)
