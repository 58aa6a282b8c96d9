"""Fusion: colour a grey stream from sparse keyframes, before its frame rate is raised.

Grey frames wait in a buffer until the next keyframe arrives (or the shot ends, or the
buffer reaches ``MAX_GAP`` frames), then the colouriser fills them from the keyframes on
either side. Memory is bounded by ``MAX_GAP`` frames however long the video is. A scene cut
closes the shot: colour never crosses it. Every output frame keeps its input luma exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

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
        self.before: Picture | None = None
        self.pending: list[Picture] = []

    def flush(self, after: Picture | None) -> list[Picture]:
        grey, self.pending = self.pending, []
        if not grey:
            return []
        if self.before is None and after is None:
            self._counts.uncoloured += len(grey)
            return grey
        self._counts.colourised += len(grey)
        return self._colouriser.colourise(grey, self.before, after)

    def end(self) -> list[Picture]:
        done = self.flush(None)
        self.before = None
        return done


def colourise_stream(pictures: Iterable[Picture], keys: KeyframeSource, colouriser: Colouriser,
                     cuts: SceneCutDetector, counts: FusionCounts,
                     force_grey: bool = False) -> Iterator[Picture]:
    """Yield the input's frames in order, coloured.

    A colour input is refused (its colour would silently be thrown away) unless the keys are
    its own colour or ``force_grey`` (``--grey``) says to discard it.
    """
    shot = _Shot(colouriser, counts)
    previous: Picture | None = None
    for index, picture in enumerate(pictures):
        if index == 0:
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
        shot.before = key
    yield from shot.end()
    if counts.keyframes == 0:
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
