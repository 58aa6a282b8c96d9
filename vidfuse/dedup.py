"""Dropping repeated frames so that motion is interpolated across them.

Animation is mostly drawn "on twos" or "on threes" (each drawing held for 2 or 3 frames of a
24 fps stream), and 24 fps film carried at 30 fps repeats every fifth frame. Interpolated as
they are, such streams keep their stutter: the in-between of two identical frames is that frame
again, and all the motion lands in the one gap where the drawing changes. With the repeats
dropped, each drawing keeps its own timestamp and a factor schedule built with ``fill_gaps``
(`vidfuse.timeline.FactorSchedule`) spreads the new frames evenly over the whole gap, so the
output moves at every frame.

A long still (a held title, a paused shot) is a real pause, not a repeat: after
``MAX_REPEATS`` dropped frames in a row the next repeat is kept, so motion never creeps through
a hold longer than that.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import cv2
import numpy as np

from vidfuse.framerate import StreamCounts
from vidfuse.picture import Picture

# Drawings held for up to 4 frames (animation "on fours") count as one.
MAX_REPEATS = 3
# A repeat changes no 8x8 block's mean luma by more than this many 8-bit levels (the largest
# block, not a percentile: a mouth that opens on a held face is a new drawing) and the frame's
# luma by at most a sixth of it on average (a whole small frame moving a little is not a
# repeat either, though no block changes much). benchmarks/dedup.py: every repeat found in
# clips held on twos and coded by libx264 at CRF 18 and 23, half of them at CRF 28; in the
# real clips, the five frames bigbuckbunny repeats (24 fps content padded to 25) and two of
# Megamind's (42 and 47 dB from the frame before, where neighbours are ~30 dB apart), and
# nothing else.
DEFAULT_REPEAT_THRESHOLD = 6.0
_BLOCK = 8


class RepeatDetector:
    """Tells, picture by picture, whether each repeats the last one it did not call a repeat
    (at most ``MAX_REPEATS`` in a row); ``found`` counts the repeats so far."""

    def __init__(self, threshold: float = DEFAULT_REPEAT_THRESHOLD) -> None:
        self._threshold = threshold
        self._kept: tuple[Picture, np.ndarray] | None = None  # with its block means
        self._run = 0
        self.found = 0

    def is_repeat(self, picture: Picture) -> bool:
        blocks = _block_means(picture)
        if (self._kept is not None and self._run < MAX_REPEATS
                and _repeats(*self._kept, picture, blocks, self._threshold)):
            self._run += 1
            self.found += 1
            return True
        self._kept, self._run = (picture, blocks), 0
        return False


class KnownRepeats:
    """Repeats already found by a :class:`RepeatDetector` over the whole input, told again
    picture by picture from ``first_index`` on: a segment of a long video
    (`vidfuse.segments`) drops exactly what the single pass would, whatever came before."""

    def __init__(self, repeats: Iterable[int], first_index: int) -> None:
        self._repeats = frozenset(repeats)
        self._index = first_index
        self.found = 0

    def is_repeat(self, picture: Picture) -> bool:
        repeat = self._index in self._repeats
        self._index += 1
        self.found += repeat
        return repeat


def drop_repeats(pictures: Iterable[Picture], counts: StreamCounts,
                 detector: RepeatDetector | KnownRepeats) -> Iterator[Picture]:
    """The pictures without the repeats ``detector`` finds. The last picture always comes
    out, so the video still ends when it did."""
    held: Picture | None = None  # the latest repeat dropped, while the run lasts
    for picture in pictures:
        if detector.is_repeat(picture):
            held = picture
            counts.repeats += 1
            continue
        held = None
        yield picture
    if held is not None:
        counts.repeats -= 1
        yield held


def watch_repeats(pictures: Iterable[Picture],
                  detector: RepeatDetector | KnownRepeats) -> Iterator[Picture]:
    """The pictures unchanged, shown to ``detector`` on the way (for `repeat_hint`)."""
    for picture in pictures:
        detector.is_repeat(picture)
        yield picture


def repeat_hint(repeats: int, frames: int) -> str | None:
    """Advice to use --dedup where a run without it met enough repeats to stutter: 3% is one
    frame a second of 24 fps film padded to 25."""
    if repeats < 3 or repeats < 0.03 * frames:
        return None
    return (f"{repeats} of {frames} frames ({100 * repeats / frames:.0f}%) repeat the one "
            "before; if this is animation held on twos or threes, or film padded to a higher "
            "rate, --dedup interpolates across them and the motion stops stuttering")


def _block_means(picture: Picture) -> np.ndarray:
    """Mean luma of each 8x8 block, in 8-bit levels: coding noise averages out, motion not."""
    size = (max(1, picture.width // _BLOCK), max(1, picture.height // _BLOCK))
    small = cv2.resize(picture.y, size, interpolation=cv2.INTER_AREA)
    return small.astype(np.float32) * np.float32(255.0 / picture.max_value)


def _repeats(kept: Picture, kept_blocks: np.ndarray, picture: Picture, blocks: np.ndarray,
             threshold: float) -> bool:
    if float(cv2.absdiff(kept_blocks, blocks).max()) > threshold:
        return False
    mean = cv2.mean(cv2.absdiff(kept.y, picture.y))[0] * 255.0 / picture.max_value
    return mean <= threshold / 6
