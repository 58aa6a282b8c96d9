"""`vidfuse train`: cut sample banks from real footage, train the learned models, export
their weights. The same app is `python -m vidfuse.train`, which torchrun starts once per
process for distributed training. torch is imported only once a command runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidfuse.cli._app import flag, guarded
from vidfuse.cli._app import out as console
from vidfuse.errors import UsageError
from vidfuse.weights import TASKS

train_app = typer.Typer(
    help="Train the learned models on real footage: build a bank of samples once (optical "
         "flow is the slow part), train on it, export the weights. Under torchrun every "
         "process trains one share: torchrun --nproc-per-node 2 -m vidfuse.train interp "
         "--bank train.npz --out runs/a",
    no_args_is_help=True,
)

Bank = Annotated[Path, typer.Option(help="The sample bank (.npz).", show_default=False)]


def _add_task(task: str) -> None:
    """build-TASK and TASK, for each learned model: the same options, another network."""

    @train_app.command(f"build-{task}")
    def build(
        data: Annotated[Path, typer.Option(
            help="Where `python benchmarks/datasets.py` put the clips.", show_default=False)],
        bank: Annotated[Path, typer.Option(help="The .npz to write.", show_default=False)],
        validation: Annotated[bool, flag(
            "--validation", help="Cut the bank that scores training instead: from the "
                                 "validation clips (interp, colour) or from the tuning "
                                 "frames, the last of vtest and Megamind (hybrid).")] = False,
        scale: Annotated[float, typer.Option(help="Multiply every sample count.")] = 1.0,
        synthetic: Annotated[int, typer.Option(
            help="Also compose this many sequences of moving objects with exact truth from "
                 "photographs (`python benchmarks/datasets.py --training` fetches them).",
        )] = 0,
        clips: Annotated[bool, typer.Option(
            "--clips/--no-clips", help="Cut from the real clips (and panned photos); "
                                       "--no-clips with --synthetic: synthetic alone.")] = True,
        seed: int = 0,
    ) -> None:
        def run() -> None:
            from vidfuse.train.colour_data import build_colour_bank
            from vidfuse.train.hybrid_data import build_hybrid_bank
            from vidfuse.train.interp_data import build_interpolation_bank

            builder = {"interp": build_interpolation_bank, "colour": build_colour_bank,
                       "hybrid": build_hybrid_bank}[task]
            manifest = builder(data, bank, validation, seed, scale, synthetic, clips)
            bank.with_suffix(".manifest.json").write_text(manifest.to_json())

        guarded(run)
        console.print(f"wrote {bank}", soft_wrap=True)

    build.__doc__ = f"Cut {task} training samples from real clips (and synthetic motion)."

    @train_app.command(task)
    def fit(
        bank: Bank,
        out: Annotated[Path, typer.Option(help="Checkpoints and logs go here.",
                                          show_default=False)],
        val_bank: Annotated[Path | None, typer.Option(
            help="A validation bank, scored every --val-every steps.",
            show_default=False)] = None,
        steps: int = 2000,
        batch: int = 8,
        lr: float = 1e-3,
        loss: Annotated[str, typer.Option(
            help="charbonnier, mse, mep (MSE + alpha x total variation of the error), "
                 "ssim (MSE + alpha x (1 - SSIM)) or psnr (minus each sample's PSNR: calm "
                 "samples count as much as wild ones; the hybrid chooser's).")] = "charbonnier",
        alpha: float = 0.1,
        seed: int = 0,
        checkpoint_every: int = 200,
        val_every: int = 200,
        resume: Annotated[bool, flag(
            "--resume", help="Continue from the checkpoint in --out.")] = False,
        threads: Annotated[int, typer.Option(help="torch threads (0: its default).")] = 0,
        device: Annotated[str, typer.Option(
            help="auto (CUDA when visible), cpu, cuda or cuda:N; under torchrun each rank "
                 "takes cuda:LOCAL_RANK with NCCL, or gloo on the CPU.")] = "auto",
    ) -> None:
        from vidfuse.train.trainer import TrainConfig, train

        guarded(lambda: train(TrainConfig(
            task=task, bank=bank, out=out, val_bank=val_bank, steps=steps, batch=batch, lr=lr,
            loss=loss, alpha=alpha, seed=seed, checkpoint_every=checkpoint_every,
            val_every=val_every, resume=resume, threads=threads, device=device)))

    fit.__doc__ = f"Train the {task} network on a bank, with checkpoints (resumable)."


for _task in TASKS:
    _add_task(_task)


@train_app.command("export")
def export(
    task: Annotated[str, typer.Option(help=" or ".join(TASKS) + ".", show_default=False)],
    checkpoint: Annotated[Path, typer.Option(help="A training checkpoint (.pt).",
                                             show_default=False)],
    out: Annotated[Path, typer.Option(help="The .safetensors to write; its model card "
                                           "(.json) is written beside it.",
                                      show_default=False)],
) -> None:
    """A checkpoint as safetensors weights plus a model card (data, command, scores)."""
    def run() -> None:
        from vidfuse.weights.networks import export_checkpoint

        if task not in TASKS:
            raise UsageError(f"--task must be one of {', '.join(TASKS)}, not {task!r}")
        export_checkpoint(task, checkpoint, out)

    guarded(run)
    console.print(f"wrote {out}", soft_wrap=True)
