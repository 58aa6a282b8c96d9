"""End-to-end speed: decode -> engine -> libx264, next to the I/O floor and minterpolate.

    python benchmarks/speed.py [--clip bigbuckbunny] [--height 1080] [--frames 48]
                               [--factor 2] [--keyframe-every 8] [--device cpu|cuda]
                               [--repeats 3]

The I/O floor is the same run with an engine that only repeats frames (decode, scene
detection, colour conversion and encoding of the same number of output frames, no motion
work). FFmpeg's minterpolate (mci) is timed in the same run, writing through the same
encoder. ``--height`` first rescales the clip (libx264 CRF 18) to that many lines, for 1080p
and 4K figures. Every method runs in its own process, so each peak RSS is its own (torch
counts only where a learned model is used: the classical path never imports it). The clock
starts once the models are built (imports and weights, once per process) and stops when the
output file is complete. All figures are input frames per second.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from datasets import CLIPS, clip_path
from rich.console import Console
from rich.table import Table

from vidfuse import EncodeSettings, UpscaleOptions, upscale
from vidfuse.api import build_models
from vidfuse.baselines import minterpolate
from vidfuse.engines import available, register
from vidfuse.picture import Picture
from vidfuse.video.colour import conform_frame, picture_to_frame
from vidfuse.video.reader import VideoFileSource
from vidfuse.video.writer import VideoFileSink


@register("repeat", "benchmark only: repeats the earlier frame (the I/O floor)",
          learned=False)
class RepeatInterpolator:
    name = "repeat"
    device = "cpu"

    def __init__(self, device: str) -> None:
        del device

    def interpolate(self, a: Picture, b: Picture, ts: Sequence[float],
                    after: Picture | None = None) -> Iterator[Picture]:
        return iter([a] * len(ts))

    def reset(self) -> None:
        """Stateless."""


def run_method(method: str, clip: Path, factor: int, device: str) -> tuple[float, int]:
    """(seconds, input frames) of one method: an engine name, "minterpolate", or
    "fusion:N:STEPS" (colour every N, --adapt STEPS or "default")."""
    out = Path(tempfile.mkdtemp()) / "out.mp4"
    if method == "minterpolate":
        started = time.perf_counter()
        frames = _minterpolate(clip, factor, out)
        return time.perf_counter() - started, frames
    fusion = {}
    engine = method
    if method.startswith("fusion:"):
        _, every, steps = method.split(":")
        engine = "auto"
        fusion = {"keyframe_every": int(every),
                  "adapt": None if steps == "default" else int(steps)}
    options = UpscaleOptions(clip, out, factor=factor, engine=engine, device=device,
                             **fusion)  # type: ignore[arg-type]
    # Models are built before the clock starts: importing torch (learned models only) and
    # loading weights happen once per process, and a short clip would mostly time them.
    models = build_models(options)
    started = time.perf_counter()
    result = upscale(options, models=models)
    return time.perf_counter() - started, result.frames_in


def _minterpolate(clip: Path, factor: int, out: Path) -> int:
    with VideoFileSource(clip) as source:
        info = source.info
        rate = info.frame_rate * factor
        sink = VideoFileSink(out, out, EncodeSettings(), info, rate, 1 / rate,
                             lambda message: None)
        frames = 0

        def counted() -> object:
            nonlocal frames
            for picture in source.pictures():
                frames += 1
                yield picture

        for picture in minterpolate(counted(), info.working, info.colour, info.frame_rate, rate):
            sink.write(picture)
        sink.close()
    return frames


def rescaled(clip: Path, height: int | None, frames: int | None, folder: Path) -> Path:
    """The clip's first ``frames`` frames at ``height`` lines (same aspect), or the clip."""
    if height is None and frames is None:
        return clip
    out = folder / f"source_{height or 'native'}.mp4"
    with VideoFileSource(clip) as source:
        info = source.info
        height = height or info.height
        width = round(info.width * height / info.height / 2) * 2
        scaled = dataclasses.replace(info, width=width, height=height, passthrough=[])
        sink = VideoFileSink(out, out, EncodeSettings(), scaled, info.frame_rate,
                             info.time_base, lambda message: None)
        for picture in itertools.islice(source.pictures(), frames):
            frame = picture_to_frame(picture, info.working, info.colour)
            sink.write(conform_frame(frame, info.colour, info.working, info.colour, width,
                                     height, picture.time))
        sink.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", default="bigbuckbunny", choices=list(CLIPS))
    parser.add_argument("--height", type=int, help="rescale the clip first (1080, 2160)")
    parser.add_argument("--frames", type=int, help="use only the first N frames")
    parser.add_argument("--factor", type=int, default=2)
    parser.add_argument("--engines", nargs="+",
                        default=[e for e in available() if e != "repeat"])
    parser.add_argument("--skip-minterpolate", action="store_true")
    parser.add_argument("--device", default="cpu", help="where the learned engines run")
    parser.add_argument("--keyframe-every", type=int, nargs="+", default=[],
                        help="also time fusion mode (colour kept on 1 frame in N) with the "
                             "auto engine and colouriser, with and without --adapt")
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs per method; the median time is shown (this VM varies "
                             "by about 10%% from run to run)")
    parser.add_argument("--run", help=argparse.SUPPRESS)  # child: one method, JSON out
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        seconds, frames = run_method(args.run, args.source, args.factor, args.device)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"seconds": seconds, "frames": frames, "rss_mib": peak}))
        return
    methods = ["repeat", *args.engines]
    methods += [f"fusion:{n}:{steps}" for n in args.keyframe_every for steps in (0, "default")]
    methods += [] if args.skip_minterpolate else ["minterpolate"]
    with tempfile.TemporaryDirectory() as tmp:
        source = rescaled(clip_path(args.clip), args.height, args.frames, Path(tmp))
        with VideoFileSource(source) as opened:
            size = f"{opened.info.width}x{opened.info.height}"
        console = Console(width=140)
        console.print(f"{args.clip} {size}, x{args.factor}, libx264 veryfast CRF 18; "
                      f"{platform.processor() or platform.machine()}, {os.cpu_count()} "
                      f"cores, engines on {args.device}")
        rows = {}
        for method in methods:
            runs = []
            for _ in range(args.repeats):
                done = subprocess.run([sys.executable, __file__, "--run", method, "--source",
                                       str(source), "--factor", str(args.factor), "--device",
                                       args.device], capture_output=True, text=True,
                                      check=True)
                runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
            rows[method] = {**sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2],
                            "rss_mib": max(r["rss_mib"] for r in runs)}
    table = Table()
    for column in ("method", "seconds", "input fps", "time / I/O floor", "peak RSS MiB"):
        table.add_column(column, justify="right" if column != "method" else "left")
    floor = rows["repeat"]["seconds"]
    for method, row in rows.items():
        label = {"repeat": "I/O floor (repeat)", "minterpolate": "ffmpeg minterpolate mci"}.get(
            method, method)
        if method.startswith("fusion:"):
            _, every, steps = method.split(":")
            label = f"fusion, colour every {every}, --adapt {steps}"
        table.add_row(label, f"{row['seconds']:.2f}", f"{row['frames'] / row['seconds']:.1f}",
                      f"{row['seconds'] / floor:.2f}x", f"{row['rss_mib']:.0f}")
    console.print(table)


if __name__ == "__main__":
    main()
