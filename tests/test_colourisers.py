"""Colour from keyframes: classical and learned colourisers, and the colour training task."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from clips import moving_frames
from safetensors.torch import save_file

from vidfuse.colourisers import build_colouriser
from vidfuse.colourisers.alignment import KeyframeAligner, candidate_weights, temporal_weight
from vidfuse.colourisers.learned import AutoencoderColouriser
from vidfuse.metrics import psnr
from vidfuse.nets.colouriser import KeyframeColourNet
from vidfuse.picture import Picture
from vidfuse.train.colour_data import cut_colour_samples
from vidfuse.train.data import TRAINING_FORMAT, save_samples
from vidfuse.train.trainer import TrainConfig, train
from vidfuse.video.colour import ColourInfo, frame_to_picture


def pictures(count: int) -> list[Picture]:
    import av

    return [frame_to_picture(av.VideoFrame.from_ndarray(rgb, format="rgb24"), TRAINING_FORMAT,
                             ColourInfo(1, False, 1, 1), i * 0.04)
            for i, rgb in enumerate(moving_frames(count, 96, 128, step=(2, 1)))]


def chroma_psnr(truth: list[Picture], made: list[Picture]) -> float:
    return float(np.mean([psnr(np.stack([t.u, t.v]), np.stack([m.u, m.v]))
                          for t, m in zip(truth, made, strict=True)]))


def test_flow_colouriser_follows_motion_and_keeps_luma() -> None:
    frames = pictures(9)
    grey = [Picture(f.y, np.full_like(f.u, 128), np.full_like(f.v, 128), 8, f.time)
            for f in frames[1:8]]
    flow = build_colouriser("flow", "cpu").colourise(grey, frames[0], frames[8])
    nearest = build_colouriser("nearest", "cpu").colourise(grey, frames[0], frames[8])
    assert all(np.array_equal(g.y, m.y) for g, m in zip(grey, flow, strict=True))
    assert chroma_psnr(frames[1:8], flow) > 35
    assert chroma_psnr(frames[1:8], flow) > chroma_psnr(frames[1:8], nearest) + 3
    only_before = build_colouriser("flow", "cpu").colourise(grey[:2], frames[0], None)
    assert chroma_psnr(frames[1:3], only_before) > 35


def test_chained_flows_compose_the_motion_back_to_the_keyframe() -> None:
    frames = pictures(8)  # the texture slides 2 px right-to-left and 1 px up per frame
    chained = list(KeyframeAligner().chained_flows(frames[1:], frames[0]))
    for distance, flow in enumerate(chained, start=1):
        inner = flow[16:-16, 16:-16].reshape(-1, 2)
        assert np.allclose(np.median(inner, axis=0), (2 * distance, distance), atol=0.3)


def test_untrained_autoencoder_blends_its_candidates_by_confidence(tmp_path: Path) -> None:
    weights = tmp_path / "zero.safetensors"
    save_file(KeyframeColourNet().state_dict(), str(weights))
    frames = pictures(9)
    before, grey, after = frames[0], frames[1:8], frames[8]
    learned = AutoencoderColouriser("cpu", weights).colourise(grey, before, after)
    gap = KeyframeAligner().align_gap(grey, before, after)
    for frame, made, candidates in zip(grey, learned, gap, strict=True):
        weights = candidate_weights(temporal_weight(frame, before, after))
        trust = [w * c.confidence + 1e-4 for c, w in zip(candidates, weights, strict=True)]
        blend = sum(c.chroma * t[..., None] for c, t in zip(candidates, trust, strict=True))
        expected = np.round(blend[..., 0] / sum(trust) * 255)
        assert np.abs(made.u.astype(int) - expected).max() <= 1
        assert np.array_equal(made.y, frame.y)


def test_learned_colouriser_with_one_keyframe(tmp_path: Path) -> None:
    frames = pictures(4)
    grey = [f.greyed() for f in frames]
    colouriser = build_colouriser("ae", "cpu")
    assert chroma_psnr(frames[1:], colouriser.colourise(grey[1:], frames[0], None)) > 35
    # Only a later keyframe (a shot that starts between keyframes).
    assert chroma_psnr(frames[:3], colouriser.colourise(grey[:3], None, frames[3])) > 35


@pytest.fixture(scope="module")
def colour_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("colour") / "bank.npz"
    samples = list(cut_colour_samples(pictures(40), 6, 64, np.random.default_rng(0),
                                      KeyframeAligner()))
    save_samples(samples, path)
    return path


def test_colour_smoke_training(colour_bank: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    train(TrainConfig(task="colour", bank=colour_bank, out=out, val_bank=colour_bank, steps=3,
                      batch=2, checkpoint_every=3, val_every=3, threads=1))
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert np.isfinite(records[-2]["loss"]) and records[-2]["val_psnr"] > 20
    assert torch.load(out / "checkpoint.pt", weights_only=True)["step"] == 3
