"""Several versions of one video in one picture, in step, so a ghosted hand or a torn edge can
be seen rather than read off a PSNR table.

Every input plays on its own clock from its first frame; the comparison runs at the highest
of their rates, and a slower input holds each frame until its next one is due. Pictures are
each input's own frames, converted to RGB with their own colour tags, so what is shown is
what each file holds. One frame of each input is held at a time: memory stays flat.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from vidfuse.errors import Cancelled, UsageError
from vidfuse.options import Observer, SilentObserver, check_output
from vidfuse.picture import Picture
from vidfuse.video.atomic import atomic_output
from vidfuse.video.colour import (
    RGB_WORKING_COLOUR,
    WorkingFormat,
    frame_to_picture,
    picture_to_rgb,
)
from vidfuse.video.media import SourceInfo
from vidfuse.video.reader import ImageSequenceSource, VideoFileSource, open_source
from vidfuse.video.span import WHOLE, Span
from vidfuse.video.writer import EncodeSettings, VideoFileSink, check_encode_settings

LAYOUTS = ("row", "column")
# The composite is RGB; it is encoded as RGB image input is (16-bit 4:4:4 working planes).
_WORKING = WorkingFormat("yuv444p16le", 16)
_LABEL_BAR = 0.06  # of a tile's height: the strip its label is written in


@dataclass(frozen=True)
class Zoom:
    """A region of the pictures, in pixels of the largest input, shown magnified."""

    x: int
    y: int
    width: int
    height: int

    @classmethod
    def parse(cls, text: str) -> Zoom:
        try:
            x, y, width, height = (int(part) for part in text.split(","))
        except ValueError:
            raise UsageError(f"--zoom takes X,Y,W,H in pixels, not {text!r}") from None
        if min(x, y) < 0 or min(width, height) < 1:
            raise UsageError(f"--zoom needs X, Y of 0 or more and W, H of 1 or more: {text}")
        return cls(x, y, width, height)


@dataclass(frozen=True)
class CompareOptions:
    """One comparison: ``inputs`` in order (the first is the reference for --diff)."""

    inputs: Sequence[Path]
    output: Path
    labels: Sequence[str] | None = None  # default: the file names
    layout: str = "row"  # row: side by side; column: stacked
    split: float | None = None  # two inputs as one picture: the first left of this fraction
    zoom: Zoom | None = None
    diff: bool = False  # after the inputs, each later one's error against the first
    span: Span = WHOLE
    encode: EncodeSettings = field(default_factory=EncodeSettings)
    overwrite: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", [Path(p) for p in self.inputs])
        object.__setattr__(self, "output", Path(self.output))

    def validate(self) -> None:
        if len(self.inputs) < 2:
            raise UsageError("compare needs two or more videos (the first is the reference)")
        if self.layout not in LAYOUTS:
            raise UsageError(f"--layout must be one of {', '.join(LAYOUTS)}, not "
                             f"{self.layout!r}")
        if self.labels is not None and len(self.labels) != len(self.inputs):
            raise UsageError(f"{len(self.labels)} --label for {len(self.inputs)} videos: give "
                             "one per video, in order")
        if self.split is not None and (len(self.inputs) != 2 or not 0 < self.split < 1):
            raise UsageError("--split shows two videos as one picture: give exactly two, and "
                             "a position between 0 and 1")
        for path in self.inputs:
            if not path.exists():
                raise UsageError(f"input not found: {path}")
        check_output(self.output, list(self.inputs), self.overwrite)
        check_encode_settings(self.encode, self.output)


@dataclass(frozen=True)
class CompareResult:
    output: Path
    frames: int
    frame_rate: Fraction
    size: tuple[int, int]


def compare(options: CompareOptions, observer: Observer | None = None,
            cancel: threading.Event | None = None) -> CompareResult:
    """Write ``options.output``: the inputs in step, laid out with their labels. Only
    ``observer.warning`` is called. ``cancel``, once set, stops at the next frame
    (:class:`Cancelled`), leaving nothing at the output."""
    observer = observer or SilentObserver()
    options.validate()
    labels = list(options.labels or [p.name for p in options.inputs])
    with ExitStack() as stack:
        sources: list[VideoFileSource | ImageSequenceSource] = []
        for path in options.inputs:  # each closed however the run ends
            sources.append(open_source(path, span=options.span))
            stack.callback(sources[-1].close)
        infos = [s.info for s in sources]
        size = max(((i.width, i.height) for i in infos), key=lambda wh: wh[0] * wh[1])
        for info, label in zip(infos, labels, strict=True):
            if (info.width, info.height) != size:
                observer.warning(f"{label} is {info.width}x{info.height}: scaled to "
                                 f"{size[0]}x{size[1]} to match the largest")
        rate = max(i.frame_rate for i in infos)
        streams = [_rgb_frames(s, size) for s in sources]
        steps = [1 / float(i.frame_rate) for i in infos]
        tiles = _Tiles(options, labels, size)
        canvas_size = tiles.canvas_size
        # Drawn in RGB, but made to be watched: written as the 8-bit 4:2:0 that every player
        # shows, without the warning an RGB input gets.
        composite = SourceInfo(
            path=options.output, width=canvas_size[0], height=canvas_size[1],
            frame_rate=rate, frame_count=None, duration=None, colour=RGB_WORKING_COLOUR,
            working=_WORKING, decoded_pix_fmt="yuv420p", time_base=1 / rate)
        encode = dataclasses.replace(options.encode, keep_audio=False)
        count = 0
        with atomic_output(options.output) as temp:
            sink = VideoFileSink(options.output, temp, encode, composite, rate, 1 / rate,
                                 observer.warning)
            try:
                for index, frames in enumerate(_in_step(streams, steps, rate)):
                    if cancel is not None and cancel.is_set():
                        raise Cancelled("stopped on request; no output was written")
                    picture = _picture(tiles.compose(frames), index / float(rate))
                    sink.write(picture)
                    count += 1
            except BaseException:
                sink.abort()
                raise
            sink.close()
    return CompareResult(options.output, count, rate, canvas_size)


def _rgb_frames(source: VideoFileSource | ImageSequenceSource, size: tuple[int, int]
                ) -> Iterator[tuple[float, np.ndarray]]:
    """(time from the source's first frame, 8-bit RGB at ``size``) for each frame."""
    info = source.info
    first: float | None = None
    for picture in source.pictures():
        first = picture.time if first is None else first
        rgb = picture_to_rgb(picture, info.working, info.colour)
        if (rgb.shape[1], rgb.shape[0]) != size:
            shrinking = rgb.shape[1] > size[0]
            rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if shrinking
                             else cv2.INTER_LINEAR)
        yield picture.time - first, rgb


def _in_step(streams: list[Iterator[tuple[float, np.ndarray]]], steps: list[float],
             rate: Fraction) -> Iterator[list[np.ndarray]]:
    """At each instant k/rate, the frame each stream shows then: its latest frame not after
    it (a stream that has ended holds its last), until the last frame of the longest stream
    has been shown for its own duration (``steps``: each stream's frame interval)."""
    current = [next(s) for s in streams]
    ahead: list[tuple[float, np.ndarray] | None] = [next(s, None) for s in streams]
    step = 1 / float(rate)
    slack = step / 4  # container rounding (Matroska keeps whole milliseconds)
    for index in itertools.count():
        instant = index * step
        for k, stream in enumerate(streams):
            while (coming := ahead[k]) is not None and coming[0] <= instant + slack:
                current[k], ahead[k] = coming, next(stream, None)
        if all(a is None for a in ahead) and all(
                shown[0] + own - slack <= instant for shown, own in zip(current, steps,
                                                                          strict=True)):
            return
        yield [c[1] for c in current]


class _Tiles:
    """Where each input's picture goes in the composite, and what is drawn on it."""

    def __init__(self, options: CompareOptions, labels: list[str], size: tuple[int, int]):
        self._options = options
        self._labels = labels
        zoom = options.zoom
        width, height = size
        if zoom is not None:
            if zoom.x + zoom.width > width or zoom.y + zoom.height > height:
                raise UsageError(f"--zoom {zoom.x},{zoom.y},{zoom.width},{zoom.height} reaches "
                                 f"outside the {width}x{height} pictures")
            scale = max(1, min(width // zoom.width, height // zoom.height))
            width, height = zoom.width * scale, zoom.height * scale
        self.tile = (width, height)
        count = len(labels) + (len(labels) - 1 if options.diff else 0)
        if options.split is not None:
            count = 1 + (1 if options.diff else 0)
        across, down = (count, 1) if options.layout == "row" else (1, count)
        # Encoders want even sizes; the canvas is padded, never a picture stretched.
        self.canvas_size = (across * width + across * width % 2, down * height + down * height % 2)

    def compose(self, frames: list[np.ndarray]) -> np.ndarray:
        options = self._options
        shown = [self._zoomed(f) for f in frames]
        tiles: list[tuple[np.ndarray, str]]
        if options.split is not None:
            cut = round(self.tile[0] * options.split)
            joined = np.concatenate([shown[0][:, :cut], shown[1][:, cut:]], axis=1)
            joined[:, max(0, cut - 1):cut + 1] = 255  # the seam
            tiles = [(joined, f"{self._labels[0]} | {self._labels[1]}")]
        else:
            tiles = list(zip(shown, self._labels, strict=True))
        if options.diff:
            tiles += [(heat_map(s, shown[0]), f"error: {label}")
                      for s, label in zip(shown[1:], self._labels[1:], strict=True)]
        canvas = np.zeros((self.canvas_size[1], self.canvas_size[0], 3), np.uint8)
        width, height = self.tile
        for index, (image, label) in enumerate(tiles):
            x, y = (index * width, 0) if options.layout == "row" else (0, index * height)
            canvas[y:y + height, x:x + width] = labelled(image, label)
        return canvas

    def _zoomed(self, rgb: np.ndarray) -> np.ndarray:
        zoom = self._options.zoom
        if zoom is None:
            return rgb
        region = rgb[zoom.y:zoom.y + zoom.height, zoom.x:zoom.x + zoom.width]
        # Nearest neighbour: ghosting and torn edges stay as sharp as the pixels that make them.
        return cv2.resize(region, self.tile, interpolation=cv2.INTER_NEAREST)


def heat_map(rgb: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Where ``rgb`` differs from ``reference``: black where equal, bright where far off
    (a difference of 64 levels or more saturates)."""
    error = cv2.absdiff(rgb, reference).max(axis=2)
    scaled = np.clip(error.astype(np.int32) * 4, 0, 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(scaled, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)


def labelled(rgb: np.ndarray, label: str) -> np.ndarray:
    """``rgb`` with ``label`` in white on a black strip along its top."""
    image = rgb.copy()
    bar = max(12, round(image.shape[0] * _LABEL_BAR))
    image[:bar] = 0
    scale = bar / 30
    cv2.putText(image, label, (4, bar - max(2, bar // 5)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (255, 255, 255), max(1, round(scale * 2)), cv2.LINE_AA)
    return image


def _picture(rgb: np.ndarray, time: float) -> Picture:
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    return frame_to_picture(frame, _WORKING, RGB_WORKING_COLOUR, time)
