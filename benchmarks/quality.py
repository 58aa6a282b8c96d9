"""Interpolation quality on real clips: drop every other frame, rebuild it, compare.

    python benchmarks/quality.py [--frames 60] [--clips bikes bigbuckbunny ...]

Prints PSNR (RGB) and SSIM of the rebuilt odd frames for each engine next to frame repetition
and FFmpeg's minterpolate (mci), all measured in this run on the same frames. Engines run as
`vidfuse upscale` runs them, with scene-cut detection at its default threshold.
`convlstm@untrained` is the learned engine with its network's zero output layer: what the
classical parts of that engine score without the trained network.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from datasets import CLIPS, clip_path
from rich.console import Console
from rich.table import Table
from safetensors.torch import save_file

from vidfuse.engines import available
from vidfuse.evaluate import Clip, evaluate_time
from vidfuse.nets.interpolator import RecurrentFlowRefiner
from vidfuse.report import report_clip
from vidfuse.train.sources import TRAINING_CLIPS, VALIDATION_CLIPS

UNTRAINED = "convlstm@untrained"


def evaluate_clip(path: Path, frames: int, engines: list[str],
                  untrained: Path) -> dict[str, tuple[float, float]]:
    scores = evaluate_time(Clip.load(path, frames | 1), engines,
                           weights={UNTRAINED: untrained})
    return {name: (score.psnr, score.ssim) for name, score in scores.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=60, help="frames read per clip")
    parser.add_argument("--clips", nargs="+", default=list(CLIPS), choices=list(CLIPS))
    parser.add_argument("--engines", nargs="+", default=[*available(), UNTRAINED],
                        help=f"names; '{UNTRAINED}' is the learned engine with its network "
                             "before training (zero output layer)")
    parser.add_argument("--json", type=Path, help="also write the scores here")
    parser.add_argument("--report", type=Path, metavar="DIR",
                        help="also write each clip's HTML report (vidfuse eval --report) "
                             "into DIR/CLIP")
    parser.add_argument("--card", type=Path,
                        help="model card (JSON) to record the learned engine's scores in")
    parser.add_argument("--card-engine", default="convlstm")
    args = parser.parse_args()
    methods = ["repeat", *args.engines, "minterpolate"]
    table = Table(title=f"Rebuilt odd frames, first {args.frames} frames per clip: "
                        "PSNR dB (RGB) / SSIM. Means over validation clips (never trained on)")
    table.add_column("clip")
    for method in methods:
        table.add_column(method, justify="right")
    results: dict[str, dict[str, tuple[float, float]]] = {}
    started = time.perf_counter()
    scratch = tempfile.TemporaryDirectory()  # removed when the script ends
    untrained = Path(scratch.name) / "untrained.safetensors"
    save_file(RecurrentFlowRefiner().state_dict(), str(untrained))
    for clip in args.clips:
        results[clip] = evaluate_clip(clip_path(clip), args.frames, args.engines, untrained)
        if args.report:
            print(f"report: {report_clip(clip_path(clip), args.report / clip, args.frames)}")
        label = (clip if clip in VALIDATION_CLIPS
                 else f"{clip} (learned engines trained on it)" if clip in TRAINING_CLIPS
                 else f"{clip} (neither trained nor validated on)")
        table.add_row(label, *(f"{results[clip][m][0]:.2f} / {results[clip][m][1]:.4f}"
                               for m in methods))
    validation = [c for c in args.clips if c in VALIDATION_CLIPS]
    means = {m: (float(np.mean([results[c][m][0] for c in validation])),
                 float(np.mean([results[c][m][1] for c in validation]))) for m in methods}
    table.add_row("[bold]validation mean", *(f"{means[m][0]:.2f} / {means[m][1]:.4f}"
                                             for m in methods))
    console = Console(width=160)
    console.print(table)
    for method in args.engines:
        console.print(
            f"{method}: {means[method][0] - means['minterpolate'][0]:+.2f} dB / "
            f"{means[method][1] - means['minterpolate'][1]:+.4f} SSIM vs minterpolate, "
            f"{means[method][0] - means['flow'][0]:+.2f} dB / "
            f"{means[method][1] - means['flow'][1]:+.4f} SSIM vs flow"
            if "flow" in means else "")
    console.print(f"({time.perf_counter() - started:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps({"frames": args.frames, "clips": results,
                                         "validation_mean": means}, indent=2))
    if args.card:
        record_in_card(args.card, args.card_engine, args.frames, results, means)


def record_in_card(card_path: Path, engine: str, frames: int,
                   results: dict[str, dict[str, tuple[float, float]]],
                   means: dict[str, tuple[float, float]]) -> None:
    """Write the engine's validation scores (and the baselines') into its model card."""
    card = json.loads(card_path.read_text())
    card["validation"] = {
        "command": f"python benchmarks/quality.py --frames {frames} --card {card_path}",
        "metric": "PSNR dB (RGB) / SSIM of rebuilt odd frames",
        "clips": {c: {m: list(v) for m, v in r.items()} for c, r in results.items()
                  if c in VALIDATION_CLIPS},
        "validation_mean": {m: list(v) for m, v in means.items()},
        "engine": engine,
    }
    card_path.write_text(json.dumps(card, indent=2) + "\n")


if __name__ == "__main__":
    main()
