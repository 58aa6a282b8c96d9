"""Where fusion mode gets its colour: keyframes matched to the frames of the grey input.

Three sources, one question asked of each in frame order: "is there colour for input frame
number ``index``?" The answer is a picture already in the input's size, working format,
matrix and range, so colourisers never see a foreign layout.

- :class:`EveryNthKeyframe`: the input's own colour on every N-th frame (the research code's format,
  simulated from a colour video; the evaluation mode).
- :class:`ImageKeyframes`: a directory of colour images named by frame index (``000120.png``,
  0-based) or by time from the first frame (``t=4.80s.png``, also ``t4.8.png``).
- :class:`ReferenceKeyframes`: a colour video of the same scene, at its own frame rate and
  resolution, matched by timestamp within half an input frame (``offset`` for clocks that
  differ), and registered to the frame it colours by optical flow.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import av
import cv2
import numpy as np

from vidfuse.colourisers.alignment import KeyframeAligner, registered
from vidfuse.errors import InputError, UsageError
from vidfuse.picture import Picture
from vidfuse.video.colour import RGB_WORKING_COLOUR, conform_frame
from vidfuse.video.media import SourceInfo
from vidfuse.video.reader import IMAGE_EXTENSIONS, VideoFileSource

_INDEX_NAME = re.compile(r"^(\d+)$")
_TIME_NAME = re.compile(r"^t=?(\d+(?:\.\d*)?)s?$", re.IGNORECASE)
NAMING = "a frame index (000120.png, counted from 0) or a time in seconds (t=4.80s.png)"


class KeyframeSource(Protocol):
    """Asked once per input frame, in order."""

    def keyframe_for(self, index: int, picture: Picture) -> Picture | None:
        """Colour for input frame ``index`` (``picture``), or None."""
        ...

    def close(self) -> None:
        """Release files; say nothing if nothing matched (the caller reports that)."""
        ...


class EveryNthKeyframe:
    """Keep the colour of frames 0, N, 2N, ... of a colour input."""

    def __init__(self, every: int) -> None:
        if every < 2:
            raise UsageError(f"--keyframe-every must be 2 or more, not {every}")
        self.every = every

    def keyframe_for(self, index: int, picture: Picture) -> Picture | None:
        return picture if index % self.every == 0 else None

    def close(self) -> None:
        """Nothing held."""


def _check_aspect(what: str, width: int, height: int, info: SourceInfo) -> None:
    ours, theirs = info.width / info.height, width / height
    if abs(theirs - ours) > 0.01 * ours:
        raise InputError(f"{what} is {width}x{height}, the input {info.width}x{info.height}: "
                         "different aspect ratios (crop or pad it to the input's shape)")


class _TimeMatcher:
    """Pairs a time-ordered stream of candidates with input frames, nearest within tolerance."""

    def __init__(self, items: Iterator[tuple[float, object]], tolerance: float) -> None:
        self._items = items
        self._tolerance = tolerance
        self._head: tuple[float, object] | None = next(items, None)

    def take(self, time: float) -> object | None:
        while self._head is not None and self._head[0] < time - self._tolerance:
            self._head = next(self._items, None)
        best = None
        # Several candidates may fall within tolerance (a faster reference): keep the nearest.
        while self._head is not None and self._head[0] <= time + self._tolerance:
            if best is None or abs(self._head[0] - time) < abs(best[0] - time):
                best = self._head
            self._head = next(self._items, None)
        return None if best is None else best[1]


class ImageKeyframes:
    """Colour images named by frame index or by time."""

    def __init__(self, folder: Path, info: SourceInfo) -> None:
        if not folder.is_dir():
            raise UsageError(f"--keyframes takes a directory of images, not {folder}")
        files = [p for p in folder.iterdir()
                 if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
        if not files:
            raise UsageError(f"no keyframe images ({', '.join(sorted(IMAGE_EXTENSIONS))}) "
                             f"in {folder}")
        self._info = info
        self._by_index: dict[int, Path] = {}
        timed: list[tuple[float, Path]] = []
        for path in files:
            if match := _INDEX_NAME.match(path.stem):
                self._by_index[int(match.group(1))] = path
            elif match := _TIME_NAME.match(path.stem):
                timed.append((float(match.group(1)), path))
            else:
                raise UsageError(f"keyframe {path.name}: name it by {NAMING}")
        timed.sort(key=lambda item: item[0])
        self._timed = _TimeMatcher(iter(timed), 0.5 / float(info.frame_rate))

    def keyframe_for(self, index: int, picture: Picture) -> Picture | None:
        timed = self._timed.take(picture.time - self._info.start_time)  # consumed either way
        path = self._by_index.get(index) or timed
        return None if path is None else self._load(path, picture.time)  # type: ignore[arg-type]

    def _load(self, path: Path, time: float) -> Picture:
        image = cv2.imread(str(path), cv2.IMREAD_ANYDEPTH | cv2.IMREAD_COLOR_RGB)
        if image is None or image.dtype not in (np.uint8, np.uint16):
            raise InputError(f"cannot read keyframe image {path}")
        _check_aspect(f"keyframe {path.name}", image.shape[1], image.shape[0], self._info)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image),  # type: ignore[arg-type]
                                           format="rgb48le" if image.dtype == np.uint16
                                           else "rgb24")
        info = self._info
        return conform_frame(frame, RGB_WORKING_COLOUR, info.working, info.colour, info.width,
                             info.height, time)

    def close(self) -> None:
        """Images are read one at a time."""


class ReferenceKeyframes:
    """A colour video of the same scene; its frames become keyframes where times match."""

    def __init__(self, path: Path, info: SourceInfo, offset: float = 0.0,
                 register: bool = True) -> None:
        """``register``: warp each reference frame's colour onto the grey frame it matches
        (see `alignment.registered`); off only to measure what that gives."""
        if not path.exists():
            raise UsageError(f"reference not found: {path}")
        self._source = VideoFileSource(path, video_only=True)
        ref = self._source.info
        _check_aspect(f"reference {path.name}", ref.width, ref.height, info)
        self._info = info
        if ref.duration and info.duration:
            first, last = offset, offset + ref.duration
            if last <= 0 or first >= info.duration:
                self._source.close()
                raise InputError(
                    f"reference {path.name} covers {first:.2f}-{last:.2f} s of the input's "
                    f"0.00-{info.duration:.2f} s: no frame can match (adjust "
                    "--reference-offset)")

        def candidates() -> Iterator[tuple[float, object]]:
            for frame, time in self._source.timed_frames():
                yield time - ref.start_time + offset, frame

        self._colour = ref.colour
        self._matcher = _TimeMatcher(candidates(), 0.5 / float(info.frame_rate))
        self._aligner = KeyframeAligner() if register else None

    def keyframe_for(self, index: int, picture: Picture) -> Picture | None:
        frame = self._matcher.take(picture.time - self._info.start_time)
        if frame is None:
            return None
        info = self._info
        assert isinstance(frame, av.VideoFrame)
        key = conform_frame(frame, self._colour, info.working, info.colour, info.width,
                            info.height, picture.time)
        return key if self._aligner is None else registered(key, picture, self._aligner)

    def close(self) -> None:
        self._source.close()
