"""Reference methods that vidfuse's engines are compared with in the same run."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from fractions import Fraction

import av

from vidfuse.picture import Picture
from vidfuse.video.colour import ColourInfo, WorkingFormat, frame_to_picture, picture_to_frame
from vidfuse.video.filters import filtered


def minterpolate(pictures: Iterable[Picture], fmt: WorkingFormat, colour: ColourInfo,
                 in_rate: Fraction, out_rate: Fraction, mode: str = "mci") -> Iterator[Picture]:
    """FFmpeg's motion-compensated ``minterpolate`` filter through PyAV's filter graph.

    Output picture k is placed at time k / out_rate from the first input.
    """
    def frames() -> Iterator[av.VideoFrame]:
        for index, picture in enumerate(pictures):
            frame = picture_to_frame(picture, fmt, colour)
            frame.pts = index
            frame.time_base = 1 / in_rate
            yield frame

    for frame in filtered(frames(), "minterpolate", f"fps={out_rate}:mi_mode={mode}"):
        yield frame_to_picture(frame, fmt, colour, float((frame.pts or 0) / out_rate))
