"""The learned models on CUDA: same shipped weights, same answers as the CPU, and training.

Skipped where no GPU is visible (CI); run on a CUDA machine with `pytest tests/test_cuda.py`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from clips import moving_frames, write_clip
from test_training import bank, pictures  # noqa: F401  (the bank fixture is shared)

from vidfuse.colourisers import build_colouriser
from vidfuse.engines import build_engine
from vidfuse.metrics import psnr
from vidfuse.picture import Picture
from vidfuse.train.trainer import TrainConfig, train

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def test_learned_interpolation_on_cuda_matches_cpu() -> None:
    frames = pictures(5, 360, 640, step=(5, 2))
    made = {}
    for device in ("cpu", "cuda"):
        engine = build_engine("convlstm", device)
        made[device] = [list(engine.interpolate(a, b, [0.25, 0.5]))
                        for a, b in pairwise(frames)]
    for cpu, gpu in zip(made["cpu"], made["cuda"], strict=True):
        for c, g in zip(cpu, gpu, strict=True):  # fp16 autocast on the GPU, fp32 on the CPU
            assert psnr(c.y, g.y) > 45 and psnr(np.stack([c.u, c.v]), np.stack([g.u, g.v])) > 45


def test_learned_colour_on_cuda_matches_cpu() -> None:
    frames = pictures(9, 96, 128)
    grey = [Picture(f.y, np.full_like(f.u, 128), np.full_like(f.v, 128), 8, f.time)
            for f in frames[1:8]]
    cpu = build_colouriser("ae", "cpu").colourise(grey, frames[0], frames[8])
    gpu = build_colouriser("ae", "cuda").colourise(grey, frames[0], frames[8])
    for c, g in zip(cpu, gpu, strict=True):
        assert np.array_equal(c.y, g.y)
        assert psnr(np.stack([c.u, c.v]), np.stack([g.u, g.v])) > 45


def test_training_runs_on_cuda(bank: Path, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "run"
    train(TrainConfig(task="interp", bank=bank, out=out, val_bank=bank, steps=4, batch=2,
                      checkpoint_every=4, val_every=4, device="cuda"))
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert records[-2]["step"] == 4 and np.isfinite(records[-2]["loss"])
    saved = torch.load(out / "checkpoint.pt", weights_only=True)
    assert all(t.is_cuda for t in saved["model"].values())
    train(TrainConfig(task="interp", bank=bank, out=out, steps=6, batch=2, checkpoint_every=6,
                      resume=True, device="cpu"))  # a GPU checkpoint resumes on the CPU


def test_cli_upscales_on_cuda(tmp_path: Path) -> None:
    source = write_clip(tmp_path / "in.mkv", moving_frames(10, 144, 256, step=(3, 1)))
    out = tmp_path / "out.mkv"
    done = subprocess.run([sys.executable, "-m", "vidfuse", "upscale", str(source), "--out",
                           str(out), "--engine", "convlstm", "--device", "cuda", "--codec",
                           "ffv1"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 20


@pytest.mark.parametrize("codec", ["h264_nvenc", "hevc_nvenc"])
def test_nvenc_encodes_the_output(tmp_path: Path, codec: str) -> None:
    from vidfuse import EncodeSettings, UpscaleOptions, upscale

    clip = write_clip(tmp_path / "in.mkv", moving_frames(12, 256, 320))
    out = tmp_path / "out.mp4"
    result = upscale(UpscaleOptions(clip, out, encode=EncodeSettings(codec=codec, crf=19)))
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    assert len(frames) == result.frames_out == 24
    with av.open(str(clip)) as container:
        first = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert psnr(first, frames[0]) > 35
