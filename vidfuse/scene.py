"""Scene-cut detection: interpolating across a cut only produces a ghostly cross-fade."""

from __future__ import annotations

import cv2
import numpy as np

from vidfuse.picture import PerLuma, Picture

_THUMB_WIDTH = 128
_BINS = 32


# On the clips in benchmarks/datasets.py ordinary motion scores below 0.25, cuts 0.35 and up.
DEFAULT_SCENE_THRESHOLD = 0.3


class SceneCutDetector:
    """Flags a cut when two frames differ both in what they show and in how it is lit.

    The score is the geometric mean of two measures on 128-pixel-wide luma thumbnails: the
    histogram distance (blind to motion, fooled by lighting changes) and the mean absolute
    difference over the frames' contrast (sensitive to both motion and cuts). Only a cut makes
    both large. On the clips in benchmarks/datasets.py ordinary motion scores below 0.25 and
    the cuts 0.35 and above.
    """

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._summary = PerLuma(_summary)

    def score(self, a: Picture, b: Picture) -> float:
        (hist_a, thumb_a), (hist_b, thumb_b) = self._summary(a), self._summary(b)
        histogram = 0.5 * float(np.abs(hist_a - hist_b).sum())
        contrast = 0.5 * (float(thumb_a.std()) + float(thumb_b.std())) + 0.02
        difference = float(np.abs(thumb_a - thumb_b).mean()) / contrast
        return float(np.sqrt(histogram * difference))

    def is_cut(self, a: Picture, b: Picture) -> bool:
        """True when ``b`` starts a new shot; a threshold of 0 or less disables detection."""
        return self.threshold > 0 and self.score(a, b) > self.threshold


def _summary(picture: Picture) -> tuple[np.ndarray, np.ndarray]:
    luma = picture.y if picture.bits == 8 else (picture.y >> (picture.bits - 8)).astype(np.uint8)
    height = max(1, round(picture.height * _THUMB_WIDTH / picture.width))
    thumb = cv2.resize(luma, (_THUMB_WIDTH, height), interpolation=cv2.INTER_AREA)
    hist = cv2.calcHist([thumb], [0], None, [_BINS], [0, 256]).ravel()
    return hist / hist.sum(), thumb.astype(np.float32) / 255.0
