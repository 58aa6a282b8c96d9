"""Finding when a colour reference starts on the grey video's clock (``--reference-offset
auto``): two cameras started by hand begin their files seconds apart.

The two views differ (another sensor's brightness, another position), but they see the same
things move at the same moments. So each video is reduced to how much its picture changes
from one reference frame interval to the next (mean absolute change of small, normalised
luma thumbnails), and the reference's signal is slid along the grey one's, one grey frame at a
time; the offset where they correlate best is the answer. A weak best match is an error, not
a guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vidfuse.errors import InputError
from vidfuse.video.reader import VideoFileSource

_THUMB_WIDTH = 64
# The best offset is trusted only when its correlation is at least this, and when the
# correlation is unlikely by chance over that many intervals: Fisher's z above _MIN_Z (about
# five standard deviations, for the thousand offsets tried). True offsets matched at 0.96-1.00
# on the clips measured (a second camera's view, another sensor's brightness); unrelated
# clips up to 0.83 over 16 intervals, which the z test refuses (benchmarks/reference.py).
_MIN_MATCH = 0.8
_MIN_Z = 5.0
# Reference intervals that must overlap the grey video for an offset to be considered: at
# least half of those read, and never fewer than this.
_MIN_OVERLAP = 16


@dataclass(frozen=True)
class Sync:
    offset: float  # seconds to add to the reference's times
    match: float  # correlation of the two change signals there, up to 1
    intervals: int = 0  # reference frame intervals compared

    @property
    def significant(self) -> bool:
        if self.match < _MIN_MATCH or self.intervals < 4:
            return False
        return math.atanh(min(self.match, 0.999999)) * math.sqrt(self.intervals - 3) >= _MIN_Z


def find_offset(grey: Path, reference: Path, window: float = 60.0,
                max_lag: float = 30.0) -> Sync:
    """The reference's offset within ``max_lag`` seconds either way, from the first
    ``window`` seconds of the reference and as much of the grey video as that needs."""
    ref_times, ref_thumbs = _thumbnails(reference, window)
    grey_times, grey_thumbs = _thumbnails(grey, window + max_lag)
    overlap = max(_MIN_OVERLAP, (len(ref_times) - 1) // 2)
    if len(ref_times) < _MIN_OVERLAP + 1 or len(grey_times) < 2:
        raise InputError("too few frames to find the reference's offset: give "
                         "--reference-offset SECONDS")
    grey_step = float(np.median(np.diff(grey_times)))
    ref_step = float(np.median(np.diff(ref_times)))
    # Grey frames per reference interval: the grey video's change over the same span.
    span = max(1, round(ref_step / grey_step))
    ref_change = _change(ref_thumbs[1:], ref_thumbs[:-1])
    grey_change = np.full(len(grey_thumbs), np.nan, np.float32)
    grey_change[span:] = _change(grey_thumbs[span:], grey_thumbs[:-span])
    best = Sync(0.0, -1.0)
    for lag in range(-round(max_lag / grey_step), round(max_lag / grey_step) + 1):
        offset = lag * grey_step
        # The grey frame nearest each reference frame's time moved by the offset.
        index = np.rint((ref_times[1:] + offset - grey_times[0]) / grey_step).astype(int)
        inside = (index >= span) & (index < len(grey_change))
        if inside.sum() < overlap:
            continue
        match = _correlation(ref_change[inside], grey_change[index[inside]])
        if match > best.match:
            best = Sync(offset, match, int(inside.sum()))
    if best.intervals == 0:
        raise InputError(f"could not find the reference's offset: at no offset within "
                         f"{max_lag:g} s do {overlap} of its frames fall inside the input's "
                         "first part; give --reference-offset SECONDS")
    if not best.significant:
        raise InputError(f"could not find the reference's offset (best match {best.match:.2f} "
                         f"at {best.offset:+.2f} s over {best.intervals} reference frames): "
                         "give --reference-offset SECONDS")
    return best


def _thumbnails(path: Path, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """Times from the first frame, and small luma images normalised to zero mean and unit
    spread (exposure and sensor differences drop out), of the first ``seconds``."""
    times, thumbs = [], []
    with VideoFileSource(path, video_only=True) as source:
        start = source.info.start_time
        scale = _THUMB_WIDTH / source.info.width
        size = (_THUMB_WIDTH, max(1, round(source.info.height * scale)))
        for picture in source.pictures():
            if picture.time - start > seconds:
                break
            small = cv2.resize(picture.y, size, interpolation=cv2.INTER_AREA).astype(np.float32)
            thumbs.append((small - small.mean()) / max(float(small.std()), 1e-3))
            times.append(picture.time - start)
    return np.array(times), np.array(thumbs)


def _change(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    return np.abs(later - earlier).mean(axis=(1, 2))


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    spread = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / spread) if spread > 0 else 0.0
