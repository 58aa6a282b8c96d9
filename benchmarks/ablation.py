"""Loss ablation: the same short training run with each loss, scored on validation clips.

    python benchmarks/ablation.py --task interp --bank train.npz --val-bank val.npz \\
        --steps 600 [--losses mse mep ssim charbonnier]

Every run starts from the same seed and sees the same batches; the table gives validation
PSNR (luma for interpolation, chroma for colour) next to the untrained (classical) score.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from vidfuse.train.losses import LOSSES
from vidfuse.train.tasks import TASKS
from vidfuse.train.trainer import TrainConfig, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=sorted(TASKS), default="interp")
    parser.add_argument("--bank", type=Path, required=True)
    parser.add_argument("--val-bank", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--alpha", type=float, default=0.1)
    parser.add_argument("--losses", nargs="+", default=sorted(LOSSES), choices=sorted(LOSSES))
    args = parser.parse_args()
    table = Table(title=f"{args.task}: validation PSNR after {args.steps} steps")
    for column in ("loss", "validation PSNR", "untrained (classical)", "gain"):
        table.add_column(column, justify="left" if column == "loss" else "right")
    with tempfile.TemporaryDirectory() as tmp:
        for loss in args.losses:
            out = Path(tmp) / loss
            train(TrainConfig(task=args.task, bank=args.bank, out=out, val_bank=args.val_bank,
                              steps=args.steps, batch=args.batch, loss=loss, alpha=args.alpha,
                              val_every=args.steps, checkpoint_every=args.steps))
            last = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()
                    if "val_psnr" in line][-1]
            table.add_row(loss, f"{last['val_psnr']:.2f}", f"{last['val_psnr_untrained']:.2f}",
                          f"{last['val_psnr'] - last['val_psnr_untrained']:+.2f}")
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
