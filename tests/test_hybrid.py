"""--engine hybrid: flow's and RIFE's pictures mixed per pixel by a trained chooser.

RIFE runs with random weights here (the real ones are downloaded by users, never by tests):
what is checked is that the engine's output is exactly the mix it claims (all flow, all RIFE,
or between them), on the sizes, depths and opacity the other engines take, and that its
training samples are drawn exactly as the engine draws its pictures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from clips import moving_frames, read_frames, write_clip
from safetensors.torch import save_file

from vidfuse import EncodeSettings, UpscaleOptions, upscale
from vidfuse.engines import build_engine
from vidfuse.engines import rife as rife_engine
from vidfuse.engines.flow import FlowInterpolator
from vidfuse.engines.hybrid import PairCandidates
from vidfuse.engines.rife import RifeInterpolator
from vidfuse.errors import UsageError
from vidfuse.nets.chooser import CandidateChooser
from vidfuse.picture import Picture
from vidfuse.train.data import SampleBank, save_samples
from vidfuse.train.hybrid_data import cut_samples
from vidfuse.train.trainer import TrainConfig, train


@pytest.fixture(autouse=True)
def installed_rife(random_rife_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The random weights stand where `vidfuse weights download rife-4.0` puts the real ones."""
    monkeypatch.setattr(rife_engine, "_installed", lambda: random_rife_weights)


def chooser(tmp_path: Path, choice: str | None) -> Path:
    """Chooser weights that take only flow's warps or only RIFE's (``choice``), or random
    ones (None)."""
    torch.manual_seed(1)
    net = CandidateChooser()
    if choice is None:
        torch.nn.init.normal_(net.out.weight, std=0.5)
    else:
        sign = 1.0 if choice == "flow" else -1.0
        net.out.bias.data = torch.tensor([sign, sign, -sign, -sign]) * 30  # type: ignore[union-attr]
    path = tmp_path / f"chooser-{choice}.safetensors"
    save_file(net.state_dict(), str(path))
    return path


def pictures(count: int, height: int, width: int, bits: int = 8,
             alpha: bool = False) -> list[Picture]:
    frames = moving_frames(count, height, width)
    made = []
    for i, f in enumerate(frames):
        y, u, v = (f[..., c].astype(np.uint16) << (bits - 8) if bits > 8 else f[..., c].copy()
                   for c in range(3))
        opacity = np.full((height, width), 200 + i, y.dtype) if alpha else None
        made.append(Picture(y, u[::2, ::2].copy(), v[::2, ::2].copy(), bits, float(i),
                            opacity))
    return made


def alone(name: str, shot: list[Picture], ts: list[float]) -> list[Picture]:
    engine = build_engine(name, "cpu")
    return [p for i in range(len(shot) - 1)
            for p in engine.interpolate(shot[i], shot[i + 1], ts,
                                        shot[i + 2] if i + 2 < len(shot) else None)]


@pytest.mark.parametrize(("size", "bits", "alpha"), [((48, 64), 8, False), ((33, 47), 8, True),
                                                     ((1, 1), 8, False), ((48, 64), 10, True)])
def test_the_mix_is_flow_or_rife_or_between_their_warps(tmp_path: Path, size: tuple[int, int],
                                                        bits: int, alpha: bool) -> None:
    shot = pictures(4, *size, bits=bits, alpha=alpha)
    ts = [0.25, 0.5, 0.75]
    from_flow, from_rife = alone("flow", shot, ts), alone("rife", shot, ts)
    for made, expected in zip(alone_hybrid(chooser(tmp_path, "flow"), shot, ts), from_flow,
                              strict=True):
        assert (made.alpha is not None) == (expected.alpha is not None) == alpha
        for name in ("y", "u", "v", *(("alpha",) if alpha else ())):
            assert np.abs(getattr(made, name).astype(int) - getattr(expected, name)).max() <= 1
    if size != (1, 1):
        rife_like = alone_hybrid(chooser(tmp_path, "rife"), shot, ts)
        assert sum(_distance(m, r) for m, r in zip(rife_like, from_rife, strict=True)) < sum(
            _distance(m, f) for m, f in zip(rife_like, from_flow, strict=True))
    pair = PairCandidates(FlowInterpolator("cpu"), RifeInterpolator("cpu"))
    made = alone_hybrid(chooser(tmp_path, None), shot, ts)
    candidates = [warped for i in range(len(shot) - 1)
                  for warped, _ in pair.candidates(shot[i], shot[i + 1], ts,
                                                   shot[i + 2] if i + 2 < len(shot) else None)]
    for picture, warped in zip(made, candidates, strict=True):
        for name in ("y", "u", "v"):
            values = np.stack([getattr(w, name) for w in warped]).astype(int)
            plane = getattr(picture, name)
            assert ((plane >= values.min(0) - 1) & (plane <= values.max(0) + 1)).all()
        assert (picture.alpha is not None) == alpha


def _distance(p: Picture, q: Picture) -> float:
    return float(np.abs(p.y.astype(float) - q.y).mean())


def alone_hybrid(weights: Path, shot: list[Picture], ts: list[float]) -> list[Picture]:
    engine = build_engine("hybrid", "cpu", weights)
    return [p for i in range(len(shot) - 1)
            for p in engine.interpolate(shot[i], shot[i + 1], ts,
                                        shot[i + 2] if i + 2 < len(shot) else None)]


def test_hybrid_doubles_a_file_keeping_every_input_frame(tmp_path: Path) -> None:
    frames = moving_frames(6, 64, 96)
    clip = write_clip(tmp_path / "in.mkv", frames)
    out = tmp_path / "out.mkv"
    result = upscale(UpscaleOptions(clip, out, engine="hybrid",
                                    weights=str(chooser(tmp_path, None)), device="cpu",
                                    encode=EncodeSettings(codec="ffv1"), scene_threshold=0))
    assert result.engine == "hybrid" and result.frames_out == 12 and result.interpolated == 5
    made, given = read_frames(out), read_frames(clip)
    assert all(np.array_equal(made[2 * i], given[i]) for i in range(6))


def test_without_rife_the_hybrid_engine_says_how_to_get_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()
    monkeypatch.setenv("VIDFUSE_CACHE", str(tmp_path / "empty"))
    with pytest.raises(UsageError, match=r"vidfuse weights download rife-4\.0"):
        build_engine("hybrid", "cpu", chooser(tmp_path, None))


def test_training_samples_are_the_engines_pictures_and_training_runs(tmp_path: Path) -> None:
    shot = pictures(13, 64, 96)
    pair = PairCandidates(FlowInterpolator("cpu"), RifeInterpolator("cpu"))
    samples = list(cut_samples(shot, 3, 16, np.random.default_rng(0), pair, crops=2,
                               strides=(2,)))
    assert len(samples) == 6
    sample = samples[0]
    assert sample["cues"].shape == (13, 16, 16) and sample["lumas"].shape == (4, 32, 32)
    assert sample["chromas"].shape == (4, 2, 16, 16) and sample["luma"].shape == (32, 32)
    # Each crop's warps are a piece of what the engine warps on the whole frame.
    flow_frames = [warped[0].y for start in (0, 1) for i in range(start, len(shot) - 4, 2)
                   for warped, _ in [_candidates_of(shot, i)]]
    assert any(_holds(frame, sample["lumas"][0]) for frame in flow_frames)
    bank = tmp_path / "bank.npz"
    save_samples(samples, bank)
    assert len(SampleBank(bank)) == 6
    checkpoint = train(TrainConfig(task="hybrid", bank=bank, out=tmp_path / "run", steps=3,
                                   batch=2, val_bank=bank, val_every=3, threads=1))
    assert checkpoint.exists()


def _candidates_of(shot: list[Picture], i: int) -> tuple[list[Picture], np.ndarray]:
    """The warps and cues of the pair (i, i + 2) at t = 0.5, measured as in a shot."""
    pair = PairCandidates(FlowInterpolator("cpu"), RifeInterpolator("cpu"))
    if i >= 2:
        pair.candidates(shot[i - 2], shot[i], [], shot[i + 2])
    (warped, cues), = pair.candidates(shot[i], shot[i + 2], [0.5], shot[i + 4])
    return warped, cues


def _holds(frame: np.ndarray, piece: np.ndarray) -> bool:
    h, w = piece.shape
    return any(np.array_equal(frame[y:y + h, x:x + w], piece)
               for y in range(0, frame.shape[0] - h + 1, 2)
               for x in range(0, frame.shape[1] - w + 1, 2))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_hybrid_on_cuda_matches_the_cpu(tmp_path: Path) -> None:
    from vidfuse.metrics import psnr

    shot = pictures(3, 64, 96)
    weights = chooser(tmp_path, None)
    cpu = next(build_engine("hybrid", "cpu", weights).interpolate(*shot[:2], [0.5]))
    gpu = next(build_engine("hybrid", "cuda", weights).interpolate(*shot[:2], [0.5]))
    assert psnr(cpu.y, gpu.y) > 45
