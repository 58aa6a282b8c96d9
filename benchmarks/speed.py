"""End-to-end speed at 720p: decode -> engine -> libx264, next to the I/O floor.

    python benchmarks/speed.py [--clip bigbuckbunny] [--factor 2] [--device cpu|cuda]

The I/O floor is the same run with an engine that only repeats frames (decode, scene
detection, colour conversion and encoding of the same number of output frames, no motion
work). FFmpeg's minterpolate (mci) is timed in the same process, writing through the same
encoder. All figures are input frames per second.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from datasets import CLIPS, clip_path
from rich.console import Console
from rich.table import Table

from vidfuse import EncodeSettings, UpscaleOptions, upscale
from vidfuse.baselines import minterpolate
from vidfuse.engines import available, register
from vidfuse.picture import Picture
from vidfuse.video.reader import VideoFileSource
from vidfuse.video.writer import VideoFileSink


@register("repeat", "benchmark only: repeats the earlier frame (the I/O floor)")
class RepeatInterpolator:
    name = "repeat"
    device = "cpu"

    def __init__(self, device: str) -> None:
        del device

    def interpolate(self, a: Picture, b: Picture, ts: Sequence[float]) -> list[Picture]:
        return [a] * len(ts)

    def reset(self) -> None:
        """Stateless."""


def time_engine(clip: Path, engine: str, factor: int, out_dir: Path, device: str = "cpu",
                **fusion: object) -> tuple[float, int]:
    """``fusion``: UpscaleOptions fields of fusion mode (keyframe_every, colouriser, adapt)."""
    out = out_dir / f"{engine}.mp4"
    started = time.perf_counter()
    result = upscale(UpscaleOptions(clip, out, factor=factor, engine=engine, overwrite=True,
                                    device=device, **fusion))  # type: ignore[arg-type]
    return time.perf_counter() - started, result.frames_in


def time_minterpolate(clip: Path, factor: int, out_dir: Path) -> tuple[float, int]:
    started = time.perf_counter()
    with VideoFileSource(clip) as source:
        info = source.info
        rate = info.frame_rate * factor
        sink = VideoFileSink(out_dir / "mi.mp4", out_dir / "mi.mp4", EncodeSettings(), info,
                             rate, 1 / rate, lambda message: None)
        frames = 0

        def counted() -> object:
            nonlocal frames
            for picture in source.pictures():
                frames += 1
                yield picture

        for picture in minterpolate(counted(), info.working, info.colour, info.frame_rate, rate):
            sink.write(picture)
        sink.close()
    return time.perf_counter() - started, frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", default="bigbuckbunny", choices=list(CLIPS))
    parser.add_argument("--factor", type=int, default=2)
    parser.add_argument("--engines", nargs="+",
                        default=[e for e in available() if e != "repeat"])
    parser.add_argument("--skip-minterpolate", action="store_true")
    parser.add_argument("--device", default="cpu", help="where the learned engines run")
    parser.add_argument("--keyframe-every", type=int, nargs="+", default=[],
                        help="also time fusion mode (colour kept on 1 frame in N) with the "
                             "auto engine and colouriser, with and without --adapt")
    args = parser.parse_args()
    clip = clip_path(args.clip)
    with VideoFileSource(clip) as source:
        size = f"{source.info.width}x{source.info.height}"
    console = Console(width=140)
    console.print(f"{args.clip} ({size}), x{args.factor}, libx264 veryfast CRF 18; "
                  f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                  f"engines on {args.device}")
    table = Table()
    for column in ("method", "seconds", "input fps", "time / I/O floor"):
        table.add_column(column, justify="right" if column != "method" else "left")
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = Path(tmp)
        floor_s, frames = time_engine(clip, "repeat", args.factor, out_dir)
        rows = [("I/O floor (repeat)", floor_s, frames)]
        for engine in args.engines:
            rows.append((engine, *time_engine(clip, engine, args.factor, out_dir, args.device)))
        for every in args.keyframe_every:
            for steps in (0, None):
                label = (f"fusion, colour every {every}, "
                         + ("--adapt 0" if steps == 0 else "default --adapt"))
                rows.append((label, *time_engine(clip, "auto", args.factor, out_dir,
                                                 args.device, keyframe_every=every,
                                                 adapt=steps)))
        if not args.skip_minterpolate:
            rows.append(("ffmpeg minterpolate mci", *time_minterpolate(clip, args.factor,
                                                                        out_dir)))
    for name, seconds, count in rows:
        table.add_row(name, f"{seconds:.2f}", f"{count / seconds:.1f}", f"{seconds / floor_s:.2f}x")
    console.print(table)


if __name__ == "__main__":
    main()
