"""Repeated frames: how many `--dedup` finds, and what dropping them gives back.

    python benchmarks/dedup.py [--frames 60] [--crf 18 23 28]

A clip "on twos" is made from each colour clip by holding every even frame for two frames
(as animation does) and coding it with libx264 at each CRF. `vidfuse upscale` then runs on it
(2x, flow engine, lossless output) with and without --dedup, and the output frames at the
instants of the held copies are compared with the clip's own frames there: without --dedup
they stay copies of the frame before; with it they are interpolated across the hold.

Then lists what --dedup drops from the real clips as they are, each dropped frame with its
PSNR to the frame before: a repeat in the source scores far above neighbouring frames'
typical 30 dB, a frame that moved does not.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from datasets import clip_path
from rich.console import Console
from rich.table import Table

from vidfuse.api import UpscaleOptions, upscale
from vidfuse.dedup import DEFAULT_REPEAT_THRESHOLD, RepeatDetector, drop_repeats
from vidfuse.framerate import StreamCounts
from vidfuse.metrics import psnr
from vidfuse.picture import Picture
from vidfuse.train.sources import CLIPS
from vidfuse.video.reader import open_source
from vidfuse.video.writer import EncodeSettings

LOSSLESS = EncodeSettings(codec="ffv1", keep_audio=False)


def decode_rgb(path: Path, count: int) -> tuple[list[np.ndarray], Fraction]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24")
                  for frame in itertools.islice(container.decode(stream), count)]
        return frames, Fraction(stream.average_rate or 25)


def on_twos(frames: list[np.ndarray], rate: Fraction, crf: int, path: Path) -> None:
    """Every even frame held for two, coded as a user's file would be."""
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height = width - width % 2, height - height % 2
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        for index in range(len(frames)):
            held = frames[index - index % 2][: stream.height, : stream.width]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(held), format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def held_psnr(truth: list[np.ndarray], twos: Path, out: Path, dedup: bool) -> tuple[float, int]:
    """Mean PSNR of the output at the held copies' instants, and the repeats dropped."""
    result = upscale(UpscaleOptions(twos, out, engine="flow", dedup=dedup, encode=LOSSLESS,
                                    overwrite=True))
    made, _ = decode_rgb(out, 2 * len(truth))
    scores = [psnr(truth[i][: made[0].shape[0], : made[0].shape[1]], made[2 * i])
              for i in range(1, len(truth) - 1, 2)]
    return float(np.mean(scores)), result.repeats


def dropped_from(path: Path) -> tuple[list[int], int]:
    """Indices of the frames --dedup drops from a whole clip as it is, and frames read."""
    times: list[float] = []

    def read(pictures: Iterator[Picture]) -> Iterator[Picture]:
        for picture in pictures:
            times.append(picture.time)
            yield picture

    with open_source(path) as source:
        kept = {p.time for p in drop_repeats(read(source.pictures()), StreamCounts(),
                                             RepeatDetector())}
    return [i for i, time in enumerate(times) if time not in kept], len(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=60, help="frames read per clip")
    parser.add_argument("--crf", nargs="+", type=int, default=[18, 23, 28])
    parser.add_argument("--clips", nargs="+", default=["bigbuckbunny", "bikes"],
                        choices=list(CLIPS))
    args = parser.parse_args()
    console = Console(width=140)
    table = Table(title=f"Held on twos, first {args.frames} frames, libx264: repeats found, "
                        "and PSNR dB (RGB) at the held copies' instants")
    for column in ("clip", "CRF", "repeats found", "without --dedup", "with --dedup", "gain"):
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.clips:
            truth, rate = decode_rgb(clip_path(name), args.frames)
            for crf in args.crf:
                twos = Path(scratch) / f"{name}_twos.mp4"
                on_twos(truth, rate, crf, twos)
                out = Path(scratch) / "out.mkv"
                plain, _ = held_psnr(truth, twos, out, dedup=False)
                deduped, found = held_psnr(truth, twos, out, dedup=True)
                table.add_row(name, str(crf), f"{found} of {len(truth) // 2 - 1}",
                              f"{plain:.2f}", f"{deduped:.2f}", f"{deduped - plain:+.2f}")
        console.print(table)
        drops = Table(title=f"Dropped by --dedup (threshold {DEFAULT_REPEAT_THRESHOLD:g}) from "
                            "the whole clips as they are")
        drops.add_column("clip")
        drops.add_column("dropped", justify="right")
        drops.add_column("which: frame index (PSNR dB to the frame before)")
        for name in CLIPS:
            dropped, read = dropped_from(clip_path(name))
            frames, _ = decode_rgb(clip_path(name), max(dropped, default=-1) + 1)
            drops.add_row(name, f"{len(dropped)} of {read} ({100 * len(dropped) / read:.1f}%)",
                          ", ".join(f"{i} ({psnr(frames[i - 1], frames[i]):.1f})"
                                    for i in dropped))
        console.print(drops)


if __name__ == "__main__":
    main()
