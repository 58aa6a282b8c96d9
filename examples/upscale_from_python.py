"""Use vidfuse as a library: 4x the example clip to lossless FFV1, with a progress printout."""

from __future__ import annotations

from pathlib import Path

from vidfuse import EncodeSettings, UpscaleOptions, upscale

here = Path(__file__).resolve().parent
result = upscale(UpscaleOptions(
    input=here / "bbb_2s.mp4",
    output=Path("bbb_100fps.mkv"),
    factor=4,
    overwrite=True,
    encode=EncodeSettings(codec="ffv1"),
))
print(f"{result.frames_in} -> {result.frames_out} frames in {result.seconds:.1f} s "
      f"({result.processing_fps:.1f} input frames/s) on {result.device}")
