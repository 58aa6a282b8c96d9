"""Repeated frames (--dedup): which frames go, and the even motion that dropping them gives."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from clips import frame_times, moving_frames, read_frames, write_clip
from recording import RecordingObserver
from test_cli import run_cli

from vidfuse import EncodeSettings, UpscaleOptions, upscale
from vidfuse.dedup import RepeatDetector, drop_repeats
from vidfuse.framerate import StreamCounts
from vidfuse.metrics import psnr
from vidfuse.picture import Picture

RATE = 25


def picture(luma: np.ndarray, index: int) -> Picture:
    chroma = np.full((luma.shape[0] // 2, luma.shape[1] // 2), 128, np.uint8)
    return Picture(luma, chroma, chroma.copy(), 8, index / RATE)


def drawings(count: int) -> list[np.ndarray]:
    """Grey frames of a texture sliding 4 pixels a frame."""
    return [cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
            for rgb in moving_frames(count, 64, 96, step=(4, 0))]


def kept_indices(lumas: list[np.ndarray]) -> tuple[list[int], int]:
    counts = StreamCounts()
    kept = drop_repeats([picture(luma, i) for i, luma in enumerate(lumas)], counts,
                        RepeatDetector())
    return [round(p.time * RATE) for p in kept], counts.repeats


def test_held_drawings_go_and_the_last_frame_stays() -> None:
    rng = np.random.default_rng(0)
    lumas = []
    for drawing in drawings(3):
        noisy = np.clip(drawing + rng.integers(-1, 2, drawing.shape), 0, 255).astype(np.uint8)
        lumas += [drawing, noisy]  # on twos; the copy carries coding-like noise
    assert kept_indices(lumas) == ([0, 2, 4, 5], 2)


def test_a_long_hold_is_a_pause_not_a_repeat() -> None:
    still = drawings(1)[0]
    assert kept_indices([still] * 9) == ([0, 4, 8], 6)


def test_a_small_or_faint_change_is_a_new_frame() -> None:
    still = drawings(1)[0]
    mouth = still.copy()
    mouth[30:40, 40:52] += 40  # a few pixels change a lot
    faint = still + np.uint8(2)  # every pixel changes a little
    assert kept_indices([still, mouth]) == ([0, 1], 0)
    assert kept_indices([still, faint]) == ([0, 1], 0)


def test_dedup_interpolates_across_held_frames(tmp_path: Path) -> None:
    truth = moving_frames(12, 64, 96, step=(4, 0))
    held = [truth[i - i % 2] for i in range(12)]
    clip = write_clip(tmp_path / "twos.mp4", held, codec="libx264", pix_fmt="yuv420p")
    lossless = EncodeSettings(codec="ffv1")
    observer = RecordingObserver()
    plain = upscale(UpscaleOptions(clip, tmp_path / "plain.mkv", encode=lossless), observer)
    assert any("6 of 12 frames (50%)" in w and "--dedup" in w for w in observer.warnings)
    smooth = upscale(UpscaleOptions(clip, tmp_path / "smooth.mkv", dedup=True, encode=lossless))
    assert (smooth.frames_in, smooth.repeats, smooth.frames_out) == (12, 5, 24)
    assert plain.repeats == 0
    times = frame_times(tmp_path / "smooth.mkv")
    assert np.allclose(np.diff(times), 1 / (2 * RATE))
    # At the held copies' instants: the frame before again, or the motion in between.
    made_plain = read_frames(tmp_path / "plain.mkv")
    made_smooth = read_frames(tmp_path / "smooth.mkv")
    for i in range(1, 10, 2):
        assert psnr(truth[i], made_smooth[2 * i]) > psnr(truth[i], made_plain[2 * i]) + 6


def test_no_advice_where_nothing_repeats(lossless_clip: Path, tmp_path: Path) -> None:
    observer = RecordingObserver()
    upscale(UpscaleOptions(lossless_clip, tmp_path / "out.mkv"), observer)
    assert not any("--dedup" in w for w in observer.warnings)


def test_dedup_on_the_command_line(tmp_path: Path) -> None:
    held = [frame for frame in moving_frames(4, 64, 96, step=(4, 0)) for _ in range(2)]
    clip = write_clip(tmp_path / "twos.mkv", held)
    code, output = run_cli("upscale", clip, "--dedup", "--out", tmp_path / "out.mkv")
    assert code == 0, output
    assert "8 -> 16 frames" in output and "3 repeats dropped" in output
    code, output = run_cli("upscale", clip, "--dedup-threshold", "-1", "--out",
                           tmp_path / "bad.mkv")
    assert code == 2 and "--dedup-threshold must be 0 or more" in output
