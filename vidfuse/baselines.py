"""Reference methods that vidfuse's engines are compared with in the same run."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction
from typing import cast

import av

from vidfuse.picture import Picture
from vidfuse.video.colour import ColourInfo, WorkingFormat, frame_to_picture, picture_to_frame


def minterpolate(pictures: Iterable[Picture], fmt: WorkingFormat, colour: ColourInfo,
                 in_rate: Fraction, out_rate: Fraction, mode: str = "mci") -> Iterator[Picture]:
    """FFmpeg's motion-compensated ``minterpolate`` filter through PyAV's filter graph.

    Output picture k is placed at time k / out_rate from the first input.
    """
    graph: av.filter.Graph | None = None
    source = sink = None
    for index, picture in enumerate(pictures):
        frame = picture_to_frame(picture, fmt, colour)
        if graph is None:
            graph = av.filter.Graph()
            source = graph.add_buffer(width=frame.width, height=frame.height,
                                      format=av.VideoFormat(fmt.pix_fmt), time_base=1 / in_rate)
            node = graph.add("minterpolate", f"fps={out_rate}:mi_mode={mode}")
            sink = graph.add("buffersink")
            source.link_to(node)
            node.link_to(sink)
            graph.configure()
        frame.pts = index
        frame.time_base = 1 / in_rate
        graph.push(frame)
        yield from _drain(graph, fmt, colour, out_rate)
    if graph is not None:
        graph.push(None)
        yield from _drain(graph, fmt, colour, out_rate)


def _drain(graph: av.filter.Graph, fmt: WorkingFormat, colour: ColourInfo,
           out_rate: Fraction) -> Iterator[Picture]:
    while True:
        try:
            frame = graph.pull()
        except (av.error.BlockingIOError, av.error.EOFError):
            return
        yield frame_to_picture(cast(av.VideoFrame, frame), fmt, colour,
                               float((frame.pts or 0) / out_rate))
