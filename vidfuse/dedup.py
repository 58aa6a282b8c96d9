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

from vidfuse.picture import Picture
from vidfuse.pipeline import StreamCounts

# Drawings held for up to 4 frames (animation "on fours") count as one.
MAX_REPEATS = 3
# A repeat changes no 8x8 block's mean luma by more than this many 8-bit levels (the largest
# block, not a percentile: a mouth that opens on a held face is a new drawing) and the frame's
# luma by at most a sixth of it on average (a whole small frame moving a little is not a
# repeat either, though no block changes much). benchmarks/dedup.py: every repeat found in
# clips held on twos and coded by libx264 at CRF 18 and 23, half of them at CRF 28; in the
# real clips, the five frames bigbuckbunny repeats (24 fps content padded to 25) and one of
# Megamind's, and nothing else.
DEFAULT_REPEAT_THRESHOLD = 6.0
_BLOCK = 8


def drop_repeats(pictures: Iterable[Picture], counts: StreamCounts,
                 threshold: float = DEFAULT_REPEAT_THRESHOLD) -> Iterator[Picture]:
    """The pictures without those that repeat the last one kept (at most ``MAX_REPEATS`` in a
    row). The last picture always comes out, so the video still ends when it did."""
    kept: tuple[Picture, np.ndarray] | None = None  # with its block means
    held: Picture | None = None  # the latest repeat dropped, while the run lasts
    run = 0
    for picture in pictures:
        blocks = _block_means(picture)
        if kept is not None and run < MAX_REPEATS and _repeats(*kept, picture, blocks,
                                                                threshold):
            held, run = picture, run + 1
            counts.repeats += 1
            continue
        kept, held, run = (picture, blocks), None, 0
        yield picture
    if held is not None:
        counts.repeats -= 1
        yield held


def _block_means(picture: Picture) -> np.ndarray:
    """Mean luma of each 8x8 block, in 8-bit levels: coding noise averages out, motion not."""
    luma = picture.y.astype(np.float32) * np.float32(255.0 / picture.max_value)
    size = (max(1, picture.width // _BLOCK), max(1, picture.height // _BLOCK))
    return cv2.resize(luma, size, interpolation=cv2.INTER_AREA)


def _repeats(kept: Picture, kept_blocks: np.ndarray, picture: Picture, blocks: np.ndarray,
             threshold: float) -> bool:
    if float(cv2.absdiff(kept_blocks, blocks).max()) > threshold:
        return False
    mean = cv2.mean(cv2.absdiff(kept.y, picture.y))[0] * 255.0 / picture.max_value
    return mean <= threshold / 6
