"""Streaming: peak memory must not grow with the length of the video."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from clips import moving_frames, write_clip

_MEASURE = """
import resource, sys
from pathlib import Path
from vidfuse import UpscaleOptions, upscale
upscale(UpscaleOptions(Path(sys.argv[1]), Path(sys.argv[2])))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_rss_kib(clip: Path, out: Path) -> int:
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(clip), str(out)],
                          capture_output=True, text=True, check=True)
    return int(done.stdout.strip().splitlines()[-1])


def test_peak_rss_is_flat_from_300_to_3000_frames(tmp_path: Path) -> None:
    frames = moving_frames(60, 64, 96)
    short = write_clip(tmp_path / "short.mp4", frames * 5, codec="libx264", pix_fmt="yuv420p",
                       audio_seconds=12)
    long = write_clip(tmp_path / "long.mp4", frames * 50, codec="libx264", pix_fmt="yuv420p",
                      audio_seconds=120)
    rss_short = peak_rss_kib(short, tmp_path / "short_out.mp4")
    rss_long = peak_rss_kib(long, tmp_path / "long_out.mp4")
    print(f"peak RSS: 300 frames {rss_short / 1024:.1f} MiB, 3000 frames {rss_long / 1024:.1f} MiB")
    assert rss_long < rss_short * 1.05 + 8 * 1024
