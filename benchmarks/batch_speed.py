"""Batch wall time: the same small clips with --jobs 1 and --jobs N, in one run.

    python benchmarks/batch_speed.py [--clips 8] [--frames 48] [--jobs 2] [--engine auto]

The clips are cut from the validation clips (see datasets.py) and shrunk to 640 wide, so the
set is a realistic "folder of short videos". Prints total wall time per setting and the
ratio; the workers split the cores between them (vidfuse.batch).
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
from pathlib import Path

from datasets import clip_path
from rich.console import Console
from rich.table import Table

from vidfuse import EncodeSettings, UpscaleOptions
from vidfuse.batch import plan, run_batch
from vidfuse.train.sources import VALIDATION_CLIPS
from vidfuse.video.reader import VideoFileSource
from vidfuse.video.writer import VideoFileSink


def make_clips(folder: Path, count: int, frames: int) -> None:
    """``count`` clips of ``frames`` frames, taken in turn from the validation clips."""
    sources = itertools.cycle(VALIDATION_CLIPS)
    for index in range(count):
        with VideoFileSource(clip_path(next(sources))) as source:
            info = source.info
            out = folder / f"clip{index:02d}.mp4"
            sink = VideoFileSink(out, out, EncodeSettings(), info, info.frame_rate,
                                 info.time_base, lambda message: None)
            offset = index * 7
            for picture in itertools.islice(source.pictures(), offset, offset + frames):
                sink.write(picture)
            sink.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--engine", default="auto")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "in").mkdir()
        make_clips(root / "in", args.clips, args.frames)
        template = UpscaleOptions(Path("."), Path("."), engine=args.engine, device="cpu")
        rows = []
        for jobs in (1, args.jobs):
            pairs = plan(root / "in", root / f"out{jobs}")
            started = time.perf_counter()
            results = run_batch(template, pairs, jobs)
            seconds = time.perf_counter() - started
            assert all(r.status == "done" for r in results), results
            rows.append((jobs, seconds, sum(r.frames for r in results)))
    table = Table(title=f"{args.clips} clips x {args.frames} frames, engine {args.engine}, "
                        f"{os.cpu_count()} cores")
    for column in ("jobs", "wall seconds", "input fps", "time / jobs=1"):
        table.add_column(column, justify="right")
    for jobs, seconds, frames in rows:
        table.add_row(str(jobs), f"{seconds:.1f}", f"{frames / seconds:.1f}",
                      f"{seconds / rows[0][1]:.2f}x")
    Console().print(table)


if __name__ == "__main__":
    main()
