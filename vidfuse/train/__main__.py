"""`python -m vidfuse.train` (and `torchrun ... -m vidfuse.train`): build banks, train, export.

    python -m vidfuse.train build-interp --data DATA --bank train.npz
    python -m vidfuse.train build-interp --data DATA --bank val.npz --validation
    torchrun --nproc-per-node 2 -m vidfuse.train interp --bank train.npz --out runs/a
    python -m vidfuse.train build-colour --data DATA --bank colour.npz
    python -m vidfuse.train colour --bank colour.npz --out runs/c
    python -m vidfuse.train export --task interp --checkpoint runs/a/checkpoint.pt \\
        --out models/interp-convlstm.safetensors
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from vidfuse.train.colour_data import build_colour_bank
from vidfuse.train.interp_data import build_interpolation_bank
from vidfuse.train.losses import LOSSES
from vidfuse.train.tasks import TASKS
from vidfuse.train.trainer import TrainConfig, train


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vidfuse train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for task in TASKS:
        build = commands.add_parser(f"build-{task}", help=f"cut {task} samples from real clips")
        build.add_argument("--data", type=Path, required=True, help="clip directory (DATA.md)")
        build.add_argument("--bank", type=Path, required=True, help="output .npz")
        build.add_argument("--validation", action="store_true", help="use validation clips")
        build.add_argument("--scale", type=float, default=1.0, help="multiply sample counts")
        build.add_argument("--seed", type=int, default=0)
        run = commands.add_parser(task, help=f"train the {task} network")
        run.add_argument("--bank", type=Path, required=True)
        run.add_argument("--val-bank", type=Path)
        run.add_argument("--out", type=Path, required=True, help="checkpoints and logs")
        for name, kind, default in (("steps", int, 2000), ("batch", int, 8),
                                    ("lr", float, 1e-3), ("alpha", float, 0.1),
                                    ("seed", int, 0), ("checkpoint-every", int, 200),
                                    ("val-every", int, 200), ("threads", int, 0)):
            run.add_argument(f"--{name}", type=kind, default=default)
        run.add_argument("--loss", default="charbonnier", choices=sorted(LOSSES))
        run.add_argument("--resume", action="store_true", help="continue from --out")
        run.add_argument("--device", default="auto",
                         help="auto (CUDA when visible), cpu, cuda or cuda:N; under torchrun "
                              "each rank takes cuda:LOCAL_RANK and NCCL, on CPU gloo")
    export = commands.add_parser("export", help="checkpoint -> safetensors + model card")
    export.add_argument("--task", choices=sorted(TASKS), required=True)
    export.add_argument("--checkpoint", type=Path, required=True)
    export.add_argument("--out", type=Path, required=True)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.command.startswith("build-"):
        build = {"build-interp": build_interpolation_bank,
                 "build-colour": build_colour_bank}[args.command]
        manifest = build(args.data, args.bank, args.validation, args.seed, args.scale)
        args.bank.with_suffix(".manifest.json").write_text(manifest.to_json())
        print(f"wrote {args.bank}")
    elif args.command in TASKS:
        train(TrainConfig(task=args.command, bank=args.bank, out=args.out,
                          val_bank=args.val_bank,
                          steps=args.steps, batch=args.batch, lr=args.lr, loss=args.loss,
                          alpha=args.alpha, seed=args.seed,
                          checkpoint_every=args.checkpoint_every, val_every=args.val_every,
                          resume=args.resume, threads=args.threads, device=args.device))
    else:
        from vidfuse.weights.networks import export_checkpoint

        export_checkpoint(args.task, args.checkpoint, args.out)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
