"""Fixtures: generated clips, created once per session (or in VIDFUSE_TESTDATA_DIR)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from clips import moving_frames, write_clip

# Ray's nodes, drivers and workers talk over loopback only: by default Ray binds to the
# machine's own network address. Set before any test imports Ray (its constants are read
# then) and inherited by the processes it starts.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("VIDFUSE_TESTDATA_DIR")
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def lossless_clip(clip_dir: Path) -> Path:
    """12 frames, 96x64, 25 fps, ffv1 yuv444p BT.709 limited range."""
    path = clip_dir / "lossless.mkv"
    if not path.exists():
        write_clip(path, moving_frames(12, 64, 96))
    return path


@pytest.fixture(scope="session")
def audio_clip(clip_dir: Path) -> Path:
    """2 s of 25 fps H.264 (yuv420p) with a stereo AAC tone, in MP4."""
    path = clip_dir / "with_audio.mp4"
    if not path.exists():
        write_clip(path, moving_frames(50, 64, 96), codec="libx264", pix_fmt="yuv420p",
                   audio_seconds=2.0)
    return path


@pytest.fixture(scope="session")
def random_rife_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """RIFE's network with random weights: the real ones are downloaded by users, never by
    tests, and what the tests check is plumbing, not quality."""
    import torch
    from safetensors.torch import save_file

    from vidfuse.nets.rife import IFNet

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("rife") / "random.safetensors"
    save_file(IFNet().state_dict(), str(path))
    return path
