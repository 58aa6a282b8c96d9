"""The learned interpolator's network, its two renderers and its training loop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import torch
from clips import moving_frames, texture

from vidfuse.engines import build_engine
from vidfuse.engines.convlstm import RecurrentInterpolator
from vidfuse.engines.flow import FlowInterpolator
from vidfuse.errors import UsageError
from vidfuse.metrics import psnr
from vidfuse.motion import FlowEstimator
from vidfuse.nets.interpolator import RecurrentFlowRefiner, net_divisor
from vidfuse.picture import Picture
from vidfuse.train.data import TRAINING_FORMAT, save_samples
from vidfuse.train.interp_data import cut_samples
from vidfuse.train.tasks import TASKS
from vidfuse.train.trainer import TrainConfig, train
from vidfuse.video.colour import frame_to_picture
from vidfuse.weights.networks import export_checkpoint, load_network


def pictures(count: int, height: int, width: int, step: tuple[int, int] = (3, 1)) -> list[Picture]:
    return as_pictures(moving_frames(count, height, width, step=step))


def as_pictures(frames: list[np.ndarray]) -> list[Picture]:
    """RGB frames at 25 fps as the training format's pictures."""
    return [frame_to_picture(av.VideoFrame.from_ndarray(rgb, format="rgb24"), TRAINING_FORMAT,
                             _colour(), i * 0.04)
            for i, rgb in enumerate(frames)]


def _colour():
    from vidfuse.video.colour import ColourInfo

    return ColourInfo(1, False, 1, 1)


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bank") / "bank.npz"
    rng = np.random.default_rng(0)
    samples = list(cut_samples(pictures(12, 64, 96), 6, 2, 64, rng, FlowEstimator()))
    save_samples(samples, path)
    return path


def test_untrained_network_is_the_classical_flow_engine() -> None:
    """Its zero output layer must start training from exactly what `flow` makes, along a
    shot (where both apply the acceleration the neighbouring frames show)."""
    frames = pictures(7, 96, 128, step=(4, 2))
    ts = [0.25, 0.5]
    engines = RecurrentInterpolator("cpu", weights=_fresh_weights()), FlowInterpolator("cpu")
    learned, classical = ([made for i in (0, 2, 4) for made in engine.interpolate(
        frames[i], frames[i + 2], ts, frames[i + 4] if i + 4 < len(frames) else None)]
        for engine in engines)
    assert psnr(frames[1].y[8:-8, 8:-8], learned[1].y[8:-8, 8:-8]) > 35
    for made, reference in zip(learned, classical, strict=True):
        for plane in ("y", "u", "v"):
            difference = np.abs(getattr(made, plane).astype(int) - getattr(reference, plane))
            assert difference.max() <= 1


def _fresh_weights(scale: float = 0.0, seed: int = 0) -> Path:
    """Weights of a network whose output layer is zero (scale 0) or random (scale > 0)."""
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    model = RecurrentFlowRefiner()
    with torch.no_grad():
        model.head.weight.normal_(0, scale)
        model.head.bias.normal_(0, scale)
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"vidfuse_fresh_{scale}_{seed}.safetensors"
    save_file(model.state_dict(), str(path))
    return path


def test_fast_cpu_renderer_matches_the_training_renderer(bank: Path) -> None:
    """The engine (OpenCV) and training (torch) synthesis paths must agree."""
    from vidfuse.train.data import SampleBank

    weights = _fresh_weights(scale=0.02)
    model = load_network("interp", weights)
    batch = SampleBank(bank).batch(1, np.random.default_rng(0))
    with torch.no_grad():
        _, outputs = TASKS["interp"].run(model, batch, "mse", 0.0)
    trained_path = outputs[0][0][0, 0].numpy()

    luma = (batch["luma"][0].numpy() * 255).round().astype(np.uint8)
    chroma = (batch["chroma"][0].numpy() * 255).round().astype(np.uint8)
    a, b, after = (Picture(luma[i], chroma[i, 0], chroma[i, 1], 8, 0.0) for i in (0, 2, 4))
    engine = RecurrentInterpolator("cpu", weights=weights)
    flows = batch["flows"][0].numpy().transpose(0, 1, 3, 4, 2)  # gap, direction, h, w, xy
    known = [(a, b, flows[0, 0]), (b, a, flows[0, 1]), (b, after, flows[1, 0])]
    engine._motion.flows.flows = lambda pairs: [  # type: ignore[method-assign]
        next(flow for i, j, flow in known if i is x and j is y) for x, y in pairs]
    # The first gap of a training sequence: acceleration known at b (from the next gap), not
    # at a, as for the engine at the start of a shot.
    made = next(engine.interpolate(a, b, [float(batch["ts"][0, 0])], after))
    assert net_divisor(64) == 1
    assert psnr(trained_path * 255, made.y.astype(np.float32)) > 38


def test_pickled_or_mismatched_weights_are_refused(tmp_path: Path) -> None:
    pickled = tmp_path / "evil.safetensors"
    torch.save({"x": torch.zeros(1)}, pickled)
    with pytest.raises(UsageError, match="not a safetensors file"):
        load_network("interp", pickled)
    from safetensors.torch import save_file

    other = tmp_path / "other.safetensors"
    save_file({"weight": torch.zeros(3)}, str(other))
    with pytest.raises(UsageError, match="RecurrentFlowRefiner"):
        load_network("interp", other)


def test_smoke_training_checkpoints_resumes_and_exports(bank: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    train(TrainConfig(task="interp", bank=bank, out=out, val_bank=bank, steps=3, batch=2,
                      checkpoint_every=3, val_every=3, threads=1))
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert records[-2]["step"] == 3 and np.isfinite(records[-2]["loss"])
    assert "val_psnr" in records[-2]
    train(TrainConfig(task="interp", bank=bank, out=out, steps=5, batch=2, checkpoint_every=5,
                      resume=True, threads=1))
    assert torch.load(out / "checkpoint.pt", weights_only=True)["step"] == 5
    weights = tmp_path / "smoke.safetensors"
    export_checkpoint("interp", out / "checkpoint.pt", weights)
    card = json.loads(weights.with_suffix(".json").read_text())
    assert card["training_steps"] == 5 and len(card["sha256"]) == 64
    assert isinstance(load_network("interp", weights), RecurrentFlowRefiner)


def test_same_seed_same_weights(bank: Path, tmp_path: Path) -> None:
    checksums = []
    for run in ("first", "second"):
        train(TrainConfig(task="interp", bank=bank, out=tmp_path / run, steps=3, batch=2,
                          seed=7, checkpoint_every=3, threads=1))
        last = json.loads((tmp_path / run / "log.jsonl").read_text().splitlines()[-1])
        checksums.append(last["rank_checksums"])
    assert checksums[0] == checksums[1]


def test_two_process_ddp_training_keeps_ranks_identical(bank: Path, tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
         "--master-port", str(29500 + os.getpid() % 1000), "-m", "vidfuse.train", "interp",
         "--bank", str(bank), "--out", str(out), "--steps", "3", "--batch", "2",
         "--checkpoint-every", "3"],
        capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    last = json.loads((out / "log.jsonl").read_text().splitlines()[-1])
    checksums = last["rank_checksums"]
    assert len(checksums) == 2 and checksums[0] == checksums[1]


@pytest.mark.parametrize("engine_name", ["flow", "convlstm"])
def test_engines_follow_accelerating_motion(engine_name: str) -> None:
    """A pan speeding up (position 0.5·i² pixels at frame i): the straight line between
    frames 2 and 4 misses frame 3 by half a pixel; the acceleration seen from frame 0 and
    frame 6 brings both engines (the learned one with its shipped weights) closer than
    without them."""
    base = cv2.GaussianBlur(texture(96, 160, seed=3), (0, 0), 1.0)
    frames = [cv2.warpAffine(base, np.float32([[1, 0, 0.5 * i * i], [0, 1, 0]]), (128, 64),
                             flags=cv2.INTER_CUBIC) for i in range(7)]
    pictures = as_pictures(frames)
    engine = build_engine(engine_name, "cpu")
    alone = next(engine.interpolate(pictures[2], pictures[4], [0.5]))
    engine.reset()
    engine.interpolate(pictures[0], pictures[2], [0.5], pictures[4])
    informed = next(engine.interpolate(pictures[2], pictures[4], [0.5], pictures[6]))
    inner = (slice(8, -8), slice(24, -24))
    truth = pictures[3].y[inner]
    assert psnr(truth, informed.y[inner]) > psnr(truth, alone.y[inner]) + 1.0


def _picture_packages(root: Path) -> Path:
    """A data folder laid out as the Debian picture packages unpack: two photographic
    cut-outs, one drawn one (its .svg beside it: skipped) and a photograph."""
    stamps = root / "usr/share/tuxpaint/stamps/animals"
    stamps.mkdir(parents=True)
    for index in range(3):
        rgba = np.dstack([texture(160, 180, seed=index), np.zeros((224, 244), np.uint8)])
        cv2.circle(rgba, (120, 110), 75, (255, 255, 255, 255), -1)
        rgba[..., :3] = texture(160, 180, seed=10 + index)
        cv2.imwrite(str(stamps / f"photo{index}.png"), rgba)
    (stamps / "photo2.svg").write_text("<svg/>")
    backgrounds = root / "usr/share/backgrounds"
    backgrounds.mkdir(parents=True)
    cv2.imwrite(str(backgrounds / "lake.jpg"), texture(400, 700, seed=7))
    return root


def test_synthetic_interpolation_bank_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    from test_cli import run_cli

    data = _picture_packages(tmp_path / "data")
    banks = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        bank = tmp_path / f"{name}.npz"
        code, output = run_cli("train", "build-interp", "--data", data, "--bank", bank,
                               "--synthetic", "1", "--no-clips", "--seed", str(seed))
        assert code == 0, output
        banks.append(dict(np.load(bank)))
    first, again, other = banks
    assert first.keys() == again.keys() and all(
        np.array_equal(first[k], again[k]) for k in first)
    luma = next(v for k, v in first.items() if k.startswith("luma"))
    assert luma.shape[0] == 6 and luma.shape[1] == 7  # samples, 4 keys and 3 truths each
    assert not np.array_equal(luma, next(v for k, v in other.items() if k.startswith("luma")))
    manifest = json.loads((tmp_path / "a.manifest.json").read_text())
    assert manifest["sources"][0]["source"] == "synthetic"
    assert manifest["pictures"] == ["usr/share/tuxpaint/stamps/animals/photo0.png",
                                    "usr/share/tuxpaint/stamps/animals/photo1.png",
                                    "usr/share/backgrounds/lake.jpg"]


def test_synthetic_colour_samples_cover_both_keyframe_gaps(tmp_path: Path) -> None:
    from test_cli import run_cli

    data = _picture_packages(tmp_path / "data")
    bank = tmp_path / "colour.npz"
    code, output = run_cli("train", "build-colour", "--data", data, "--bank", bank,
                           "--synthetic", "1", "--no-clips", "--seed", "2")
    assert code == 0, output
    arrays = dict(np.load(bank))
    truth = next(v for k, v in arrays.items() if k.startswith("truth"))
    assert truth.shape[0] == 8 and truth.shape[1] == 2  # samples, U and V
    # Colour truth from a colour picture: not the neutral grey a greyscale clip gives.
    assert np.abs(truth.astype(int) - 128).mean() > 2


def test_a_bank_plan_can_train_on_some_frames_of_a_clip_and_tune_on_others(
        tmp_path: Path) -> None:
    from clips import write_clip

    from vidfuse.train.data import BankPlan, build_bank
    from vidfuse.train.sources import CLIPS

    clip = tmp_path / CLIPS["vtest"]
    clip.parent.mkdir(parents=True)
    write_clip(clip, moving_frames(20, 32, 48))
    seen: list[list[int]] = []

    def cut(frames: list[Picture], count: int, rng: np.random.Generator) -> list[dict]:
        seen.append([int(f.time) for f in frames])  # decode_clip numbers the frames
        return [{"luma": f.y, "divisor": np.array(1)} for f in frames[:count]]

    plan = BankPlan(validation_counts={"vtest:12-19": 2}, training_counts={"vtest:0-11": 3},
                    photo_sizes=(), photo_frames=0, samples_per_sequence=0, synthetic_frames=0)
    training = build_bank(tmp_path, tmp_path / "train.npz", False, 0, 1.0, plan, cut)
    tuning = build_bank(tmp_path, tmp_path / "tune.npz", True, 0, 1.0, plan, cut)
    assert seen == [list(range(12)), list(range(12, 20))]
    assert training.sources == [{"source": "vtest", "frames": 12, "samples": 3,
                                 "detail": "frames 0-11"}]
    assert tuning.sources[0]["detail"] == "frames 12-19" and tuning.sources[0]["samples"] == 2


def test_the_psnr_loss_is_minus_each_samples_psnr_averaged() -> None:
    from vidfuse.train.losses import build_loss

    truth = torch.zeros(2, 1, 4, 4)
    guess = torch.stack([torch.full((1, 4, 4), 0.1), torch.full((1, 4, 4), 0.01)])
    chroma = torch.zeros(2, 2, 2, 2)
    loss = build_loss("psnr")(guess, truth, chroma, chroma, 0.0)
    assert float(loss) == pytest.approx(-(20.0 + 40.0) / 2, abs=1e-3)
