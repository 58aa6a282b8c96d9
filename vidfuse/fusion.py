"""Fusion: colour a grey stream from sparse keyframes, before its frame rate is raised.

Grey frames wait in a buffer until the next keyframe arrives (or the shot ends, or the
buffer reaches ``MAX_GAP`` frames), then the colouriser fills them from the keyframes on
either side. Memory is bounded by ``MAX_GAP`` frames however long the video is. A scene cut
closes the shot: colour never crosses it. Every output frame keeps its input luma exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from vidfuse.colourisers import Colouriser
from vidfuse.errors import InputError
from vidfuse.keyframes import EveryNthKeyframe, KeyframeSource
from vidfuse.picture import Picture
from vidfuse.scene import SceneCutDetector

# Frames held while waiting for the next keyframe (~90 MB at 720p 8-bit 4:2:0, plus ~58 MB of
# the learned colouriser's chained flows while it fills them).
MAX_GAP = 64
# --adapt (vidfuse.adapt): keyframes read ahead from the start of the video to fine-tune on,
# and the steps taken when the option is not given (learned colouriser only), chosen with
# benchmarks/colour_quality.py --adapt.
ADAPT_KEYFRAMES = 12
ADAPT_FRAMES = 2000  # ... found within this many frames from the start
DEFAULT_ADAPT_STEPS = 50
# Anti-flicker (`steadied`): the share of its previous colour a static pixel keeps, and the
# luma change (of full scale) at which a pixel mostly stops counting as static. Decided with
# benchmarks/colour_quality.py, the validation clips in view (the training clip vtest has no
# flicker to judge by): bikes, keys every 32, flickered 13% above its ground truth's own
# frame-to-frame change without it and 10% below with it; PSNR -0.05 / -0.02 dB on the mean
# at keys every 8 / 32.
STEADY_SHARE = 0.5
STATIC_LUMA = 0.01


@dataclass
class FusionCounts:
    """Live counters of the colour stage."""

    keyframes: int = 0
    colourised: int = 0
    uncoloured: int = 0  # grey frames in shots that had no keyframe at all


class _Shot:
    """Grey frames since the last keyframe of the current shot."""

    def __init__(self, colouriser: Colouriser, counts: FusionCounts) -> None:
        self._colouriser = colouriser
        self._counts = counts
        self.before: Picture | None = None  # the last keyframe
        self._last: Picture | None = None  # the last frame given out, keyframe or coloured
        self.pending: list[Picture] = []

    def keyframe(self, key: Picture) -> None:
        self.before = self._last = key

    def flush(self, after: Picture | None) -> list[Picture]:
        grey, self.pending = self.pending, []
        if not grey:
            return []
        if self.before is None and after is None:
            self._counts.uncoloured += len(grey)
            return grey
        self._counts.colourised += len(grey)
        made = []
        for picture in self._colouriser.colourise(grey, self.before, after):
            if self._last is not None:
                picture = steadied(picture, self._last)
            made.append(picture)
            self._last = picture
        return made

    def end(self) -> list[Picture]:
        done = self.flush(None)
        self.before = self._last = None
        return done


def steadied(picture: Picture, previous: Picture) -> Picture:
    """``picture`` with the chroma of its static pixels pulled towards ``previous``'s.

    Alignment noise makes colour flicker where the scene does not move; a static pixel (its
    luma unchanged since the previous frame) keeps ``STEADY_SHARE`` of the colour it had
    there. The weight fades with the luma change, so moving pixels keep their own colour.
    """
    size = picture.u.shape[::-1]
    change: np.ndarray = cv2.absdiff(picture.y, previous.y).astype(np.float32) * np.float32(
        1 / (picture.max_value * STATIC_LUMA))
    if change.shape[::-1] != size:
        change = cv2.resize(change, size, interpolation=cv2.INTER_AREA)
    weight = np.float32(STEADY_SHARE) * np.exp(-change * change)
    planes = []
    for own, earlier in ((picture.u, previous.u), (picture.v, previous.v)):
        mixed = own + weight * (earlier.astype(np.float32) - own)
        planes.append(np.clip(mixed + 0.5, 0, picture.max_value).astype(own.dtype))
    return Picture(picture.y, planes[0], planes[1], picture.bits, picture.time)


def colourise_stream(pictures: Iterable[Picture], keys: KeyframeSource, colouriser: Colouriser,
                     cuts: SceneCutDetector, counts: FusionCounts,
                     force_grey: bool = False, first_index: int = 0,
                     whole: bool = True) -> Iterator[Picture]:
    """Yield the input's frames in order, coloured.

    A colour input is refused (its colour would silently be thrown away) unless the keys are
    its own colour or ``force_grey`` (``--grey``) says to discard it. ``first_index``: the
    first picture's place in the input; not ``whole``: a segment of it (`vidfuse.segments`),
    which may hold no keyframe.
    """
    shot = _Shot(colouriser, counts)
    previous: Picture | None = None
    for index, picture in enumerate(pictures, first_index):
        if index == first_index:
            check_input(picture, keys, force_grey)
        if previous is not None and cuts.is_cut(previous, picture):
            yield from shot.end()
        previous = picture
        key = keys.keyframe_for(index, picture)
        if key is None:
            shot.pending.append(picture.greyed())
            if len(shot.pending) >= MAX_GAP:
                yield from shot.flush(None)
            continue
        if counts.keyframes == 0 and not key.has_colour:
            raise InputError(f"the first keyframe (for frame {index}) has no colour: "
                             "references must be colour images or video")
        key = picture.with_chroma_of(key)  # the input's own luma, exactly
        counts.keyframes += 1
        yield from shot.flush(key)
        yield key
        shot.keyframe(key)
    yield from shot.end()
    if counts.keyframes == 0 and whole:
        raise InputError("no keyframe matched any input frame (check the keyframe names or "
                         "--reference-offset)")


def check_input(first: Picture, keys: KeyframeSource, force_grey: bool) -> None:
    """Refuse a grey input whose colour should come from itself, and a colour input whose
    colour would silently be replaced."""
    own_colour = isinstance(keys, EveryNthKeyframe)
    if own_colour and not first.has_colour:
        raise InputError("--keyframe-every keeps the input's own colour, but the input is "
                         "greyscale: give colour with --reference or --keyframes")
    if not own_colour and not force_grey and first.has_colour:
        raise InputError("the input is in colour; fusion colours greyscale video (pass --grey "
                         "to replace its colour with the keyframes')")
