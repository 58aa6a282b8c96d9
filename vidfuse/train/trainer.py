"""Training loop for both learned models: single process or torch.distributed (DDP).

Every rank draws its own batches (seeded by --seed and its rank), DDP averages gradients, rank
0 writes checkpoints, logs and the exported weights. Deterministic for a given --seed and
world size.
"""

from __future__ import annotations

import gc
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from vidfuse.device import resolve_device
from vidfuse.train.data import Batch, SampleBank
from vidfuse.train.tasks import TASKS, Task


@dataclass
class TrainConfig:
    """Options of `vidfuse train interp|colour` (see `vidfuse train interp --help`)."""

    task: str
    bank: Path
    out: Path
    val_bank: Path | None = None
    steps: int = 2000
    batch: int = 8
    lr: float = 1e-3
    loss: str = "charbonnier"
    alpha: float = 0.1
    seed: int = 0
    checkpoint_every: int = 200
    val_every: int = 200
    resume: bool = False
    threads: int = 0
    device: str = "auto"


def _psnr(pairs: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
    mse = torch.stack([((p - t) ** 2).mean(dim=(1, 2, 3)) for p, t in pairs]).clamp_min(1e-10)
    return float((10 * torch.log10(1 / mse)).mean())


@torch.no_grad()
def validate(task: Task, model: torch.nn.Module, bank: SampleBank, device: str = "cpu",
             seed: int = 1234) -> float:
    """Mean PSNR (luma for interpolation, chroma for colour) over fixed validation batches."""
    rng = np.random.default_rng(seed)
    scores = []
    for _ in range(max(1, math.ceil(len(bank) / 8))):
        _, pairs = task.run(model, to_device(bank.batch(8, rng), device), "mse", 0.0)
        scores.append(_psnr(pairs))
    return float(np.mean(scores))


def train(config: TrainConfig) -> Path:
    """Train (or resume) and return the path of the final checkpoint."""
    distributed = "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1
    rank, world = 0, 1
    device = resolve_device(config.device)
    if device == "cuda":  # under torchrun, one GPU per local rank
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
    if device.startswith("cuda"):
        torch.cuda.set_device(device)
    if distributed:
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
    if config.threads:
        torch.set_num_threads(config.threads)
    elif distributed:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    torch.manual_seed(config.seed)
    config.out.mkdir(parents=True, exist_ok=True)
    manifest = config.bank.with_suffix(".manifest.json")
    if rank == 0 and manifest.exists():  # the model card records what the model saw
        (config.out / "manifest.json").write_text(manifest.read_text())
    bank = SampleBank(config.bank)
    val_bank = SampleBank(config.val_bank) if config.val_bank and rank == 0 else None
    task = TASKS[config.task]
    model = task.make_model().to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
    checkpoint = config.out / "checkpoint.pt"
    step = 0
    if config.resume and checkpoint.exists():
        saved = torch.load(checkpoint, map_location=device, weights_only=True)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        step = saved["step"]
    # Each rank draws its own batches; a resumed run continues from a stream keyed by its step.
    rng = np.random.default_rng([config.seed, rank, step])
    first_step = step

    def cosine(at: int) -> float:
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (first_step + at) / config.steps)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, cosine)
    net: torch.nn.Module = model
    if distributed:
        net = DistributedDataParallel(model, device_ids=[device] if device != "cpu" else None)
    log = (config.out / "log.jsonl").open("a") if rank == 0 else None
    # The untrained network (its zero output layer: the classical method it starts from).
    baseline = (validate(task, task.make_model().to(device), val_bank, device)
                if val_bank is not None else None)
    started = time.perf_counter()
    while step < config.steps:
        batch = to_device(task.augment(bank.batch(config.batch, rng), rng), device)
        loss, _ = task.run(net, batch, config.loss, config.alpha)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        step += 1
        record: dict[str, float | int] = {"step": step, "loss": loss.item(),
                                          "seconds": time.perf_counter() - started}
        if val_bank is not None and (step % config.val_every == 0 or step == config.steps):
            record["val_psnr"] = validate(task, model, val_bank, device)
            record["val_psnr_untrained"] = baseline or 0.0
        if rank == 0 and (step % config.checkpoint_every == 0 or step == config.steps):
            _save_checkpoint(checkpoint, model, optimizer, step)
        if log is not None and (step % 10 == 0 or "val_psnr" in record or step == config.steps):
            log.write(json.dumps(record) + "\n")
            log.flush()
            print(json.dumps(record), flush=True)
    checksums = _rank_checksums(model, distributed)
    if log is not None:
        log.write(json.dumps({"step": step, "rank_checksums": checksums}) + "\n")
        log.close()
        (config.out / "config.json").write_text(json.dumps(asdict(config), default=str,
                                                           indent=2))
    if distributed:
        # Gloo aborts some shutdowns ("terminate called without an active exception") when
        # its worker threads still hold work at interpreter teardown: the DDP wrapper (its
        # reducer keeps the process group and the last step's buckets) goes first, then all
        # ranks meet, then the group is destroyed while the interpreter is fully alive.
        del net, loss
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()
    return checkpoint


def to_device(batch: Batch, device: str) -> Batch:
    """Batches are drawn and augmented on the CPU (numpy), then moved to the training device."""
    return {key: value.to(device, non_blocking=True) if isinstance(value, torch.Tensor)
            else value for key, value in batch.items()}


def _rank_checksums(model: torch.nn.Module, distributed: bool) -> list[float]:
    """A weight checksum from every rank: DDP must leave them identical."""
    total = torch.stack([p.detach().double().sum() for p in model.parameters()]).sum()
    if not distributed:
        return [float(total)]
    gathered = [torch.zeros_like(total) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, total)
    return [float(x) for x in gathered]


def _save_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                     step: int) -> None:
    """Write to a temporary name and rename, so a kill mid-write never corrupts the last one."""
    temp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step},
               temp)
    temp.replace(path)
