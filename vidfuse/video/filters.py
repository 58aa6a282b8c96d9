"""Frames through one of FFmpeg's video filters (PyAV's filter graph), streamed.

Used for `--deinterlace` and for the `minterpolate` baseline. A filter may hold frames back
(bwdif looks one frame ahead, minterpolate a few), so memory stays at a few frames.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction

import av
import av.filter

# An interlaced frame weaves two fields recorded 1/50 s (or 1/60 s) apart; interpolating
# between such frames moves the combing along with the picture. bwdif fills each field's
# missing lines from both fields and the neighbouring frames, one frame out per frame in
# (frames not flagged interlaced pass through untouched), so the frame rate, count and
# timestamps stay the input's.
_BWDIF = "mode=send_frame:parity=auto:deint=interlaced"


def deinterlaced(frames: Iterable[av.VideoFrame]) -> Iterator[av.VideoFrame]:
    """``frames`` with every interlaced one deinterlaced (`--deinterlace`), timestamps as
    they were."""
    return filtered(frames, "bwdif", _BWDIF)


def filtered(frames: Iterable[av.VideoFrame], name: str, args: str
             ) -> Iterator[av.VideoFrame]:
    """``frames`` (timestamps in their own time base) through the filter ``name`` with
    ``args``, its output frames as they come. A change of size or pixel format mid-stream
    starts a new filter after draining the old."""
    graph: av.filter.Graph | None = None
    shape: tuple[int, int, str] | None = None
    for frame in frames:
        if graph is None or (frame.width, frame.height, frame.format.name) != shape:
            if graph is not None:
                yield from _drain(graph)
            graph = _graph(frame, name, args)
            shape = (frame.width, frame.height, frame.format.name)
        graph.push(frame)
        yield from _pulled(graph)
    if graph is not None:
        yield from _drain(graph)


def _graph(frame: av.VideoFrame, name: str, args: str) -> av.filter.Graph:
    graph = av.filter.Graph()
    source = graph.add_buffer(width=frame.width, height=frame.height, format=frame.format,
                              time_base=frame.time_base or Fraction(1, 1000))
    node = graph.add(name, args)
    sink = graph.add("buffersink")
    source.link_to(node)
    node.link_to(sink)
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
