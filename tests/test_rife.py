"""--engine rife: RIFE 4.0's network measures the motion, the planes are warped as flow's are.

The tests run a network with random weights (the real ones are downloaded by users, never
by tests): what they check is the plumbing, sizes, depths, opacity and timing, not quality.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import torch
from clips import frame_times, moving_frames, read_frames, write_clip

from vidfuse import EncodeSettings, UpscaleOptions, upscale
from vidfuse.engines import build_engine
from vidfuse.errors import UsageError

LOSSLESS = EncodeSettings(codec="ffv1")


@pytest.mark.parametrize(("size", "pix_fmt"), [((64, 96), "yuv420p"), ((33, 47), "yuv444p"),
                                               ((1, 1), "yuv444p"),
                                               ((64, 96), "yuv420p10le")])
def test_rife_doubles_the_frame_rate_keeping_every_input_frame(
        tmp_path: Path, random_rife_weights: Path, size: tuple[int, int], pix_fmt: str) -> None:
    frames = moving_frames(6, *size)
    clip = write_clip(tmp_path / "in.mkv", frames, pix_fmt=pix_fmt)
    out = tmp_path / "out.mkv"
    result = upscale(UpscaleOptions(clip, out, engine="rife", weights=str(random_rife_weights),
                                    device="cpu", encode=LOSSLESS, scene_threshold=0))
    assert result.engine == "rife" and result.frames_out == 12 and result.interpolated == 5
    made, given = read_frames(out), read_frames(clip)
    assert all(np.array_equal(made[2 * i], given[i]) for i in range(6))
    assert frame_times(out) == pytest.approx([i * 0.02 for i in range(12)])
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == pix_fmt


def test_rife_makes_any_instant_and_keeps_opacity(tmp_path: Path,
                                                  random_rife_weights: Path) -> None:
    engine = build_engine("rife", "cpu", random_rife_weights)
    from vidfuse.picture import Picture

    plane = np.full((20, 30), 100, np.uint8)
    a = Picture(plane, plane[::2, ::2], plane[::2, ::2], 8, 0.0, np.full((20, 30), 255, np.uint8))
    b = Picture(plane + 50, plane[::2, ::2], plane[::2, ::2], 8, 1.0, np.zeros((20, 30),
                                                                             np.uint8))
    made = list(engine.interpolate(a, b, [0.25, 0.5, 0.75]))
    assert len(made) == 3
    assert all(p.alpha is not None and p.y.shape == (20, 30) for p in made)
    assert list(engine.interpolate(a, b, [])) == []


def test_rife_measures_4k_at_half_size(random_rife_weights: Path) -> None:
    engine = build_engine("rife", "cpu", random_rife_weights)
    from vidfuse.picture import Picture

    plane = np.zeros((8, 2050), np.uint8)
    picture = Picture(plane, plane[::2, ::2], plane[::2, ::2], 8, 0.0)
    assert engine._tensor(picture, 0.5).shape[-2:] == (4, 1025)  # type: ignore[attr-defined]
    made = next(engine.interpolate(picture, picture, [0.5]))
    assert made.y.shape == (8, 2050)


def test_without_the_download_rife_says_how_to_get_it(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDFUSE_CACHE", str(tmp_path / "empty"))
    with pytest.raises(UsageError, match=r"vidfuse weights download rife-4\.0"):
        build_engine("rife", "cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_rife_on_cuda_matches_the_cpu(random_rife_weights: Path) -> None:
    from vidfuse.metrics import psnr
    from vidfuse.picture import Picture

    frames = moving_frames(2, 64, 96)
    pictures = [Picture(f[..., 0].copy(), f[::2, ::2, 1].copy(), f[::2, ::2, 2].copy(), 8,
                        float(i)) for i, f in enumerate(frames)]
    cpu = next(build_engine("rife", "cpu", random_rife_weights).interpolate(*pictures, [0.5]))
    gpu = next(build_engine("rife", "cuda", random_rife_weights).interpolate(*pictures, [0.5]))
    assert psnr(cpu.y, gpu.y) > 45
