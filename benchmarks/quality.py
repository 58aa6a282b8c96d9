"""Interpolation quality on real clips: keep every 2nd (or 4th) frame, rebuild the rest, compare.

    python benchmarks/quality.py [--gaps 30] [--strides 2 4] [--clips bikes ...] [--json F]

For each stride S, the first 30 x S + 1 frames of each clip: every S-th is kept and the
others rebuilt (`--factor S`). Prints the RGB PSNR of the rebuilt frames for each engine,
next to frame repetition and FFmpeg's minterpolate (mci), all measured in this run on the
same frames, and each method's time as a multiple of `flow`'s. The engines include `rife`
(RIFE 4.0, the learned interpolator desktop tools ship, with its published weights) where
`vidfuse weights download rife-4.0` has installed them (datasets.py does); it is left out,
with a message, where they are not.

Scores are given on all rebuilt frames and on the hard ones: those where the plain average
of the two kept neighbours scores under 30 dB (a lot changes between them; the test favours
no engine), with their count. Engines run as `vidfuse upscale` runs them, with scene-cut
detection at its default threshold. `convlstm@untrained` is the learned engine with its
network's zero output layer: what the classical parts of that engine score without the
trained network.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from datasets import CLIPS, clip_label, clip_path
from rich.console import Console
from rich.table import Table
from safetensors.torch import save_file

from vidfuse.engines import available
from vidfuse.evaluate import HARD_PSNR, Clip, evaluate_time, hard_frames
from vidfuse.nets.interpolator import RecurrentFlowRefiner
from vidfuse.report import report_clip
from vidfuse.train.sources import VALIDATION_CLIPS

UNTRAINED = "convlstm@untrained"

# method -> {"all": dB, "hard": dB or None, "ssim": ..., "seconds": ..., "hard_frames": n,
# "frames": n}
Scores = dict[str, dict[str, float | None]]


def _ready(engines: dict[str, str]) -> list[str]:
    """The engines that can run here: rife and hybrid only once RIFE's weights are
    downloaded."""
    from vidfuse.weights import hub

    if hub.installed_path(hub.lookup("rife-4.0")) is None:
        print("rife and hybrid left out: RIFE's weights are not installed (vidfuse weights "
              "download rife-4.0, or python benchmarks/datasets.py)")
        return [name for name in engines if name not in ("rife", "hybrid")]
    return list(engines)


def evaluate_clip(path: Path, stride: int, gaps: int, engines: list[str],
                  weights: dict[str, Path]) -> Scores:
    clip = Clip.load(path, gaps * stride + 1)
    hard = np.array(hard_frames(clip, stride))
    scores = evaluate_time(clip, engines, stride, weights=weights)
    results: Scores = {}
    for name, score in scores.items():
        frames = np.array(score.frames)
        results[name] = {"all": score.psnr, "ssim": score.ssim, "seconds": score.seconds,
                         "hard": float(frames[hard].mean()) if hard.any() else None,
                         "hard_frames": int(hard.sum()), "frames": len(frames)}
    return results


def _cell(score: dict[str, float | None]) -> str:
    hard = score["hard"]
    return f"{score['all']:.2f} / {'-' if hard is None else f'{hard:.2f}'}"


def mean_scores(results: dict[str, Scores], clips: list[str], methods: list[str]) -> Scores:
    """Means over ``clips`` of the all-frames score and of the hard-frames score (over the
    hard frames of all those clips together, each frame counting once)."""
    means: Scores = {}
    for method in methods:
        rows = [results[c][method] for c in clips]
        hard_total = sum(int(r["hard_frames"] or 0) for r in rows)
        hard = (sum(float(r["hard"] or 0) * int(r["hard_frames"] or 0) for r in rows)
                / hard_total if hard_total else None)
        means[method] = {"all": float(np.mean([float(r["all"] or 0) for r in rows])),
                         "hard": hard, "hard_frames": hard_total,
                         "frames": sum(int(r["frames"] or 0) for r in rows)}
    return means


def print_stride(console: Console, stride: int, gaps: int, methods: list[str],
                 results: dict[str, Scores], means: Scores) -> None:
    table = Table(title=f"Stride {stride} (--factor {stride} from 1 frame in {stride} of the "
                        f"first {gaps * stride + 1}): PSNR dB (RGB), all rebuilt frames / "
                        f"hard ones (average of neighbours < {HARD_PSNR:.0f} dB)")
    table.add_column("clip")
    table.add_column("hard / all", justify="right")
    for method in methods:
        table.add_column(method, justify="right")
    for clip, scores in results.items():
        first = next(iter(scores.values()))
        table.add_row(clip_label(clip), f"{first['hard_frames']} / {first['frames']}",
                      *(_cell(scores[m]) for m in methods))
    any_method = means[methods[0]]
    table.add_row("[bold]validation mean", f"{any_method['hard_frames']} / "
                  f"{any_method['frames']}", *(_cell(means[m]) for m in methods))
    console.print(table)
    if "flow" not in means:
        return
    for method in methods:
        if method == "flow":
            continue
        lines = []
        for clip, scores in results.items():
            ratio = (scores[method]["seconds"] or 0) / (scores["flow"]["seconds"] or 1)
            lines.append(f"{clip} {_delta(scores[method], scores['flow'])} "
                         f"({ratio:.1f}x time)")
        console.print(f"{method} - flow, all / hard: {'; '.join(lines)}; "
                      f"validation mean {_delta(means[method], means['flow'])}")


def _delta(ours: dict[str, float | None], flow: dict[str, float | None]) -> str:
    hard = ("-" if ours["hard"] is None or flow["hard"] is None
            else f"{ours['hard'] - flow['hard']:+.2f}")
    return f"{(ours['all'] or 0) - (flow['all'] or 0):+.2f} / {hard}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gaps", type=int, default=30,
                        help="gaps between kept frames per clip (frames read: gaps x stride "
                             "+ 1)")
    parser.add_argument("--strides", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--clips", nargs="+", default=list(CLIPS), choices=list(CLIPS))
    parser.add_argument("--engines", nargs="+", default=[*_ready(available()), UNTRAINED],
                        help=f"names; '{UNTRAINED}' is the learned engine with its network "
                             "before training (zero output layer)")
    parser.add_argument("--weights", type=Path,
                        help="also score the --learned engine with these weights, as "
                             "'ENGINE@candidate' (a checkpoint exported by `vidfuse train "
                             "export`)")
    parser.add_argument("--json", type=Path, help="also write the scores here")
    parser.add_argument("--report", type=Path, metavar="DIR",
                        help="also write each clip's HTML report (vidfuse eval --report) "
                             "into DIR/CLIP")
    parser.add_argument("--card", type=Path,
                        help="model card (JSON) to record the learned engine's scores in")
    parser.add_argument("--learned", default="convlstm", choices=["convlstm", "hybrid"],
                        help="the learned engine --weights and --card are for")
    args = parser.parse_args()
    candidate = f"{args.learned}@candidate"
    engines = [*args.engines, *([candidate] if args.weights else [])]
    methods = ["repeat", *engines, "minterpolate"]
    console = Console(width=200)
    started = time.perf_counter()
    scratch = tempfile.TemporaryDirectory()  # removed when the script ends
    untrained = Path(scratch.name) / "untrained.safetensors"
    save_file(RecurrentFlowRefiner().state_dict(), str(untrained))
    weights = {UNTRAINED: untrained, **({candidate: args.weights} if args.weights else {})}
    validation = [c for c in args.clips if c in VALIDATION_CLIPS]
    everything: dict[str, dict[str, object]] = {}
    for stride in args.strides:
        results = {clip: evaluate_clip(clip_path(clip), stride, args.gaps, engines, weights)
                   for clip in args.clips}
        means = mean_scores(results, validation, methods)
        print_stride(console, stride, args.gaps, methods, results, means)
        everything[f"stride{stride}"] = {"clips": results, "validation_mean": means}
    if args.report:
        for clip in args.clips:
            print(f"report: {report_clip(clip_path(clip), args.report / clip, 2 * args.gaps)}")
    console.print(f"({time.perf_counter() - started:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps({"gaps": args.gaps, **everything}, indent=2))
    if args.card:
        record_in_card(args.card, args.learned, args.engines, args.gaps, args.strides,
                       everything)


def record_in_card(card_path: Path, engine: str, engines: list[str], gaps: int,
                   strides: list[int], everything: dict[str, dict[str, object]]) -> None:
    """Write the engine's validation scores (and the baselines') into its model card."""
    card = json.loads(card_path.read_text())
    validation = {}
    for key, section in everything.items():
        clips = section["clips"]
        assert isinstance(clips, dict)
        validation[key] = {"clips": {c: r for c, r in clips.items() if c in VALIDATION_CLIPS},
                           "validation_mean": section["validation_mean"]}
    card["validation"] = {
        "command": f"python benchmarks/quality.py --gaps {gaps} --strides "
                   f"{' '.join(map(str, strides))} --clips {' '.join(VALIDATION_CLIPS)} "
                   f"--engines {' '.join(engines)} --learned {engine} --card {card_path}",
        "metric": "PSNR dB (RGB) of rebuilt frames, all and hard (average of the kept "
                  f"neighbours under {HARD_PSNR:.0f} dB)",
        **validation,
        "engine": engine,
    }
    card_path.write_text(json.dumps(card, indent=2) + "\n")


if __name__ == "__main__":
    main()
