"""The part of an input to process (``--start``, ``--duration``): a preview of a few seconds
before committing to hours of footage, or one scene of a long recording.

Times count from the input's first frame. The output's clock starts where the span starts, as
ffmpeg's input ``-ss`` does, so audio stays in step and players show 0:00.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from vidfuse.errors import UsageError

_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)$")  # [HH:]MM:SS[.frac]


@dataclass(frozen=True)
class Span:
    start: float = 0.0
    duration: float | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.start) or self.start < 0:
            raise UsageError(f"--start must be 0 or more seconds, not {self.start}")
        if self.duration is not None and not (math.isfinite(self.duration)
                                              and self.duration > 0):
            raise UsageError(f"--duration must be more than 0 seconds, not {self.duration}")

    @property
    def whole(self) -> bool:
        """True when nothing is cut: the input is read exactly as without a span."""
        return self.start == 0 and self.duration is None

    @property
    def end(self) -> float:
        return math.inf if self.duration is None else self.start + self.duration

    def keeps(self, time: float, frame_step: float) -> bool:
        """Whether a frame ``time`` seconds after the first is inside. A quarter frame of slack
        absorbs containers' rounding (Matroska keeps whole milliseconds), so ``--start 2``
        keeps the frame stored at 1.999 s and ``--duration 2`` holds exactly 2 s of frames."""
        slack = frame_step / 4
        return self.start - slack <= time < self.end - slack


WHOLE = Span()


def parse_seconds(text: str, flag: str) -> float:
    """Seconds from ``90``, ``1.5``, ``01:30`` or ``1:02:03.5``."""
    match = _CLOCK.match(text.strip())
    try:
        if match is None:
            return float(text)
        hours, minutes, seconds = match.groups()
        return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        raise UsageError(f"{flag} takes seconds (90, 1.5) or a clock time (1:30, 1:02:03.5), "
                         f"not {text!r}") from None
