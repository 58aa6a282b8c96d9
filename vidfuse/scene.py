"""Scene-cut detection: interpolating across a cut only produces a ghostly cross-fade."""

from __future__ import annotations

import cv2
import numpy as np

from vidfuse.picture import Picture

_THUMB_WIDTH = 64


class SceneCutDetector:
    """Flags a cut when two frames' small thumbnails differ by more than ``threshold``.

    The score is the mean absolute luma difference of 64-pixel-wide thumbnails divided by the
    frames' own contrast: shrinking hides ordinary motion, normalising by contrast keeps dark
    and flat scenes comparable with bright, busy ones. Typical motion scores 0.05-0.3, a cut
    0.6 and above.
    """

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.last_score = 0.0

    def score(self, a: Picture, b: Picture) -> float:
        ta, tb = _thumbnail(a), _thumbnail(b)
        contrast = 0.5 * (float(ta.std()) + float(tb.std())) + 0.02
        return float(np.abs(ta - tb).mean()) / contrast

    def is_cut(self, a: Picture, b: Picture) -> bool:
        if self.threshold <= 0:
            return False
        self.last_score = self.score(a, b)
        return self.last_score > self.threshold


def _thumbnail(picture: Picture) -> np.ndarray:
    height = max(1, round(picture.height * _THUMB_WIDTH / picture.width))
    luma = picture.y.astype(np.float32) / picture.max_value
    return cv2.resize(luma, (_THUMB_WIDTH, height), interpolation=cv2.INTER_AREA)
