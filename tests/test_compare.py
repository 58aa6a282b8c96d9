"""`vidfuse compare`: versions of a video in one, in step, labelled, read back frame by frame."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from clips import moving_frames, write_clip
from recording import RecordingObserver
from test_cli import assert_one_line_error, run_cli

from vidfuse.compare import CompareOptions, Zoom, compare
from vidfuse.video.writer import EncodeSettings

LOSSLESS = EncodeSettings(codec="ffv1")


def frames_and_times(path: Path) -> tuple[list[np.ndarray], list[float]]:
    with av.open(str(path)) as container:
        decoded = list(container.decode(video=0))
    return [f.to_ndarray(format="rgb24") for f in decoded], [float(f.time) for f in decoded]


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    """The same motion at 25 fps (64x96) and at 50 fps, half the size."""
    frames = moving_frames(20, 64, 96, step=(4, 2))
    slow = write_clip(tmp_path / "slow.mkv", frames[::2])
    small = [f[::2, ::2] for f in frames]
    fast = write_clip(tmp_path / "fast.mkv", small, rate=Fraction(50))
    return slow, fast


def test_inputs_play_in_step_at_the_highest_rate(pair: tuple[Path, Path],
                                                 tmp_path: Path) -> None:
    out = tmp_path / "cmp.mkv"
    observer = RecordingObserver()
    result = compare(CompareOptions(pair, out, encode=LOSSLESS), observer)
    frames, times = frames_and_times(out)
    assert result.frame_rate == 50 and len(frames) == 20
    assert times == pytest.approx([k / 50 for k in range(20)], abs=1e-3)
    assert frames[0].shape == (64, 192, 3)  # side by side, the small one scaled up
    assert any("fast.mkv is 48x32: scaled to 96x64" in w for w in observer.warnings)
    slow_tiles = [f[8:, :96].astype(int) for f in frames]
    # The 25 fps video holds each of its frames for two of the 50 fps ones.
    assert all(np.array_equal(slow_tiles[2 * k], slow_tiles[2 * k + 1]) for k in range(10))
    assert not np.array_equal(slow_tiles[0], slow_tiles[2])


def test_labels_are_drawn_on_each_tile(pair: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "cmp.mkv"
    code, output = run_cli("compare", *pair, "--out", out, "--label", "truth", "--label",
                           "ours", "--layout", "column", "--codec", "ffv1")
    assert code == 0, output
    frame = frames_and_times(out)[0][0]
    assert frame.shape == (128, 96, 3)  # stacked
    for top in (0, 64):  # each tile's label strip: white text on black
        strip = frame[top:top + 12, :60]
        assert strip.max() > 200 and np.median(strip) < 30


def test_diff_of_identical_videos_is_dark(pair: tuple[Path, Path], tmp_path: Path) -> None:
    slow = pair[0]
    out = tmp_path / "cmp.mkv"
    compare(CompareOptions([slow, slow], out, diff=True, encode=LOSSLESS))
    frame = frames_and_times(out)[0][3]
    assert frame.shape == (64, 288, 3)
    assert frame[16:, 192:].max() < 40  # the heat map of no error, below its label


def test_split_and_zoom_show_one_magnified_picture(pair: tuple[Path, Path],
                                                   tmp_path: Path) -> None:
    out = tmp_path / "cmp.mkv"
    compare(CompareOptions(pair, out, split=0.5, zoom=Zoom.parse("10,10,24,16"), encode=LOSSLESS))
    frame = frames_and_times(out)[0][0]
    assert frame.shape == (64, 96, 3)  # 24x16 magnified 4x, one tile
    seam = frame[20:, 47:49]
    assert seam.min() > 240  # the white line between the two halves


@pytest.mark.parametrize(("args", "fragment"), [
    ([], "needs two or more videos"),
    (["{b}", "{b}", "--split", "0.5"], "--split shows two videos"),
    (["{b}", "--zoom", "1,2,3"], "--zoom takes X,Y,W,H"),
    (["{b}", "--zoom", "90,60,50,50"], "reaches outside the 96x64 pictures"),
    (["{b}", "--layout", "grid"], "--layout must be one of row, column"),
])
def test_bad_comparisons_are_one_line_usage_errors(pair: tuple[Path, Path], tmp_path: Path,
                                                   args: list[str], fragment: str) -> None:
    out = tmp_path / "cmp.mkv"
    given = [a.replace("{b}", str(pair[1])) for a in args]
    code, output = run_cli("compare", pair[0], *given, "--out", out)
    assert code == 2, output
    assert_one_line_error(output, fragment)
    assert not out.exists()


def test_a_comparison_can_be_piped(pair: tuple[Path, Path]) -> None:
    import io
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "vidfuse", "compare", *map(str, pair),
                           "--out", "-"], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    with av.open(io.BytesIO(done.stdout)) as container:  # Matroska, ready for | mpv -
        assert sum(1 for _ in container.decode(video=0)) == 20
