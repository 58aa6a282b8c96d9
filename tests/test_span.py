"""`--start` and `--duration`: only part of the input, with the output's clock starting there."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from clips import frame_times, moving_frames, read_frames, write_clip
from test_cli import run_cli

from vidfuse.errors import UsageError
from vidfuse.video.span import Span, parse_seconds


def test_times_are_read_as_seconds_or_clock_times() -> None:
    assert parse_seconds("90", "--start") == 90
    assert parse_seconds("1.5", "--start") == 1.5
    assert parse_seconds("01:30", "--start") == 90
    assert parse_seconds("1:02:03.5", "--start") == 3723.5
    with pytest.raises(UsageError, match="--start takes seconds"):
        parse_seconds("1m30", "--start")
    with pytest.raises(UsageError, match="--duration must be more than 0"):
        Span(1.0, 0.0)
    # A container's millisecond rounding does not move a frame out of the span.
    assert Span(2.0, 1.0).keeps(1.999, 1 / 25) and not Span(2.0, 1.0).keeps(2.999, 1 / 25)


def audio_span(path: Path) -> tuple[float, float]:
    with av.open(str(path)) as container:
        packets = [p for p in container.demux(audio=0) if p.pts is not None]
    return (float(packets[0].pts * packets[0].time_base),
            float((packets[-1].pts + packets[-1].duration) * packets[-1].time_base))


def test_a_span_starts_on_its_frame_with_the_audio_in_step(tmp_path: Path) -> None:
    # Keyframes every 10 frames and B-frames: the seek lands before the start, and the
    # frames decoded on the way are dropped.
    clip = write_clip(tmp_path / "in.mp4", moving_frames(125, 64, 96), codec="libx264",
                      pix_fmt="yuv420p", audio_seconds=5.0, gop=10)
    out = tmp_path / "out.mkv"
    code, output = run_cli("upscale", clip, "--start", "0:02.2", "--duration", "1.6",
                           "--codec", "ffv1", "--out", out)
    assert code == 0, output
    frames, source = read_frames(out), read_frames(clip)
    assert len(frames) == 80  # 2.20 s to 3.76 s: 40 input frames, doubled
    assert np.array_equal(frames[0], source[55]) and np.array_equal(frames[78], source[94])
    assert np.allclose(frame_times(out), np.arange(80) * 0.02, atol=1e-3)
    start, end = audio_span(out)
    assert start < 0.03 and abs(end - 1.6) < 0.03, (start, end)


def test_a_span_of_an_image_folder(tmp_path: Path) -> None:
    folder = tmp_path / "shots"
    folder.mkdir()
    images = moving_frames(6, 64, 96)
    for index, image in enumerate(images):
        cv2.imwrite(str(folder / f"{index}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    out = tmp_path / "frames"
    code, output = run_cli("upscale", folder, "--input-fps", "10", "--start", "0.2",
                           "--out", out)
    assert code == 0, output
    written = sorted(out.iterdir())
    assert len(written) == 8  # images 2 to 5, doubled
    first = cv2.cvtColor(cv2.imread(str(written[0])), cv2.COLOR_BGR2RGB)
    assert np.array_equal(first, images[2])


def test_spans_that_cannot_work(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "in.mkv", moving_frames(25, 64, 96))
    out = tmp_path / "out.mkv"
    code, output = run_cli("upscale", clip, "--start", "5", "--out", out)
    assert code == 1 and "from --start 5 s (the video is shorter)" in output
    code, output = run_cli("upscale", clip, "--start", "-1", "--out", out)
    assert code == 2 and "--start must be 0 or more" in output
    keys = tmp_path / "keys"
    keys.mkdir()
    code, output = run_cli("upscale", clip, "--start", "0.5", "--keyframes", keys, "--out", out)
    assert code == 2 and "do not work with --reference or --keyframes" in output
    assert not out.exists()
