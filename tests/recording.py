"""An observer for tests that records what `upscale` reports."""

from __future__ import annotations

from vidfuse.engines import Interpolator
from vidfuse.framerate import StreamCounts
from vidfuse.video.media import SourceInfo


class RecordingObserver:
    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.notes: list[str] = []
        self.planned: list[int] = []
        self.progress: list[int] = []

    def started(self, info: SourceInfo, engine: Interpolator) -> None:
        self.info = info

    def advanced(self, counts: StreamCounts) -> None:
        self.progress.append(counts.frames_read)

    def warning(self, message: str) -> None:
        self.warnings.append(message)

    def note(self, message: str) -> None:
        self.notes.append(message)

    def planning(self, done: int, total: int | None) -> None:
        self.planned.append(done)
