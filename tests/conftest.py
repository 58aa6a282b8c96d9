"""Fixtures: generated clips, created once per session (or in VIDFUSE_TESTDATA_DIR)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from clips import moving_frames, write_clip


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
