"""Colour from sparse keyframes: keep the colour of every N-th frame, rebuild the rest.

    python benchmarks/colour_quality.py [--every 8 32] [--frames 97] [--clips ...]

Each non-key frame keeps its own luma and gets chroma from the keyframes around it; RGB PSNR
against the original frame, per colouriser, in the same run. Means over validation clips.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np
from datasets import clip_path
from rich.console import Console
from rich.table import Table

from vidfuse.colourisers import available, build_colouriser
from vidfuse.metrics import psnr
from vidfuse.picture import Picture
from vidfuse.train.sources import CLIPS, VALIDATION_CLIPS
from vidfuse.video.colour import picture_to_frame, to_rgb
from vidfuse.video.reader import VideoFileSource


def evaluate(clip: str, every: int, frames: int, names: list[str]) -> dict[str, float]:
    with VideoFileSource(clip_path(clip)) as source:
        info = source.info
        pictures = list(itertools.islice(source.pictures(), frames))

        def rgb(picture: Picture) -> np.ndarray:
            return to_rgb(picture_to_frame(picture, info.working, info.colour), info.colour, 8)

        scores: dict[str, list[float]] = {name: [] for name in names}
        colourisers = {name: build_colouriser(name, "cpu") for name in names}
        keys = list(range(0, len(pictures), every))
        for start, end in itertools.pairwise(keys):
            grey = pictures[start + 1:end]
            truth = [rgb(p) for p in grey]
            for name, colouriser in colourisers.items():
                made = colouriser.colourise(grey, pictures[start], pictures[end])
                scores[name] += [psnr(t, rgb(m)) for t, m in zip(truth, made, strict=True)]
        return {name: float(np.mean(values)) for name, values in scores.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--every", nargs="+", type=int, default=[8, 32])
    parser.add_argument("--frames", type=int, default=97, help="frames read per clip")
    parser.add_argument("--clips", nargs="+", default=list(VALIDATION_CLIPS),
                        choices=list(CLIPS))
    parser.add_argument("--colourisers", nargs="+", default=list(available()))
    parser.add_argument("--card", type=Path,
                        help="model card (JSON) to record the learned colouriser's scores in")
    args = parser.parse_args()
    recorded: dict[str, object] = {}
    console = Console(width=160)
    started = time.perf_counter()
    for every in args.every:
        table = Table(title=f"Keyframe every {every} frames, first {args.frames} frames: "
                            "RGB PSNR (dB) of the frames in between")
        table.add_column("clip")
        for name in args.colourisers:
            table.add_column(name, justify="right")
        results = {clip: evaluate(clip, every, args.frames, args.colourisers)
                   for clip in args.clips}
        for clip, scores in results.items():
            label = clip if clip in VALIDATION_CLIPS else f"{clip} (trained on)"
            table.add_row(label, *(f"{scores[n]:.2f}" for n in args.colourisers))
        validation = [c for c in args.clips if c in VALIDATION_CLIPS]
        means = {n: float(np.mean([results[c][n] for c in validation]))
                 for n in args.colourisers}
        table.add_row("[bold]validation mean", *(f"{means[n]:.2f}" for n in args.colourisers))
        console.print(table)
        recorded[f"keyframe_every_{every}"] = {"clips": results, "validation_mean": means}
    console.print(f"({time.perf_counter() - started:.0f} s)")
    if args.card:
        card = json.loads(args.card.read_text())
        card["validation"] = {
            "command": f"python benchmarks/colour_quality.py --frames {args.frames} "
                       f"--card {args.card}",
            "metric": "RGB PSNR dB of the non-key frames",
            **recorded,
        }
        args.card.write_text(json.dumps(card, indent=2) + "\n")


if __name__ == "__main__":
    main()
