"""Streaming: peak memory must not grow with the length of the video."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import pytest
from clips import moving_frames, write_clip

_MEASURE = """
import json, resource, sys
from pathlib import Path
from vidfuse import UpscaleOptions, upscale
upscale(UpscaleOptions(Path(sys.argv[1]), Path(sys.argv[2]), **json.loads(sys.argv[3])))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

# Fusion with a single keyframe and no scene cuts (the test clip loops): every later frame
# waits for a keyframe that never comes, so only the bounded buffer (vidfuse.fusion.MAX_GAP)
# keeps memory flat; 3000 buffered frames would add ~27 MB here.
# Segments: 6 of them for the short clip, 60 for the long one (vidfuse.segmented).
MODES = {"interpolation": {},
         "fusion, one keyframe": {"keyframe_every": 100_000, "adapt": 0, "scene_threshold": 0},
         "segments of 2 s": {"segment": 2}}


def peak_rss_kib(clip: Path, out: Path, options: dict[str, object]) -> int:
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(clip), str(out),
                           json.dumps(options)], capture_output=True, text=True, check=True)
    return int(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("mode", sorted(MODES))
def test_peak_rss_is_flat_from_300_to_3000_frames(mode: str, tmp_path: Path) -> None:
    frames = moving_frames(60, 64, 96)
    short = write_clip(tmp_path / "short.mp4", frames * 5, codec="libx264", pix_fmt="yuv420p",
                       audio_seconds=12)
    long = write_clip(tmp_path / "long.mp4", frames * 50, codec="libx264", pix_fmt="yuv420p",
                      audio_seconds=120)
    rss_short = peak_rss_kib(short, tmp_path / "short_out.mp4", MODES[mode])
    rss_long = peak_rss_kib(long, tmp_path / "long_out.mp4", MODES[mode])
    print(f"{mode}: peak RSS 300 frames {rss_short / 1024:.1f} MiB, "
          f"3000 frames {rss_long / 1024:.1f} MiB")
    assert rss_long < rss_short * 1.05 + 8 * 1024


_MEASURE_CLI = """
import resource, subprocess, sys
subprocess.run([sys.executable, "-m", "vidfuse", *sys.argv[1:]], check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


@pytest.mark.slow
def test_a_long_pause_in_a_variable_rate_recording_streams(tmp_path: Path) -> None:
    """A 720p screen recording idle for 30 s between two frames, to --fps 60: the 1800
    frames of that one gap are encoded as they are made (holding them took 2.8 GiB)."""
    frames = moving_frames(4, 720, 1280)
    clip = write_clip(tmp_path / "screen.mkv", frames, pts=[0, 40, 30_040, 30_080],
                      time_base=Fraction(1, 1000), codec="libx264", pix_fmt="yuv420p")
    out = tmp_path / "out.mkv"
    done = subprocess.run([sys.executable, "-c", _MEASURE_CLI, "upscale", str(clip), "--out",
                           str(out), "--fps", "60", "--preset", "ultrafast", "-q"],
                          capture_output=True, text=True, check=True)
    peak = int(done.stdout.strip().splitlines()[-1]) / 1024
    print(f"30 s pause at 720p to 60 fps: peak RSS {peak:.0f} MiB")
    with av.open(str(out)) as container:
        made = sum(1 for packet in container.demux(video=0) if packet.size)
    assert made == pytest.approx(30.12 * 60, abs=3)
    assert peak < 1024
