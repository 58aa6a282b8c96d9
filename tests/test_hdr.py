"""HDR input: 10-bit HEVC by default, colour tags and HDR10's static metadata carried."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from clips import moving_frames
from recording import RecordingObserver
from test_cli import run_cli

from vidfuse import EncodeSettings, UpscaleOptions, upscale
from vidfuse.video.hdr import HdrMetadata

# A P3 display inside BT.2020, 1000 cd/m² peak: the usual HDR10 grade.
MASTER_DISPLAY = "G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50)"
LIGHT_LEVEL = "1000,400"


def write_hdr(path: Path, transfer: int = 16, metadata: bool = True) -> Path:
    """A 10-bit HEVC clip tagged BT.2020 with PQ (16) or HLG (18) and HDR10's SEI."""
    params = ["log-level=error"]
    if metadata:
        params += ["hdr10=1", f"master-display={MASTER_DISPLAY}", f"max-cll={LIGHT_LEVEL}"]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx265", rate=25,
                                      options={"x265-params": ":".join(params)})
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p10le"
        ctx = stream.codec_context
        ctx.color_primaries, ctx.color_trc, ctx.colorspace = 9, transfer, 9
        for index, rgb in enumerate(moving_frames(6, 64, 96)):
            frame = av.VideoFrame.from_ndarray(rgb.astype(np.uint16) * 257, format="rgb48le")
            frame = frame.reformat(format="yuv420p10le")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def first_frame_facts(path: Path) -> tuple[str, str, int, HdrMetadata | None]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frame = next(container.decode(stream))
        return (stream.codec_context.codec.canonical_name, frame.format.name,
                int(frame.color_trc), HdrMetadata.of(frame))


def test_the_test_clip_carries_what_hdr10_files_carry(tmp_path: Path) -> None:
    _, _, transfer, hdr = first_frame_facts(write_hdr(tmp_path / "in.mkv"))
    assert transfer == 16 and hdr is not None
    assert hdr.primaries == ((Fraction(34, 50), Fraction(16, 50)),
                             (Fraction(265, 1000), Fraction(69, 100)),
                             (Fraction(15, 100), Fraction(6, 100)))
    assert hdr.luminance == (Fraction(50, 10000), Fraction(1000))
    assert (hdr.max_cll, hdr.max_fall) == (1000, 400)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_hdr10_without_codec_is_10_bit_hevc_with_its_metadata(tmp_path: Path,
                                                              suffix: str) -> None:
    clip = write_hdr(tmp_path / "phone.mkv")
    out = tmp_path / f"out{suffix}"
    observer = RecordingObserver()
    upscale(UpscaleOptions(clip, out), observer)
    codec, pix_fmt, transfer, hdr = first_frame_facts(out)
    assert (codec, pix_fmt, transfer) == ("hevc", "yuv420p10le", 16)
    assert hdr == first_frame_facts(clip)[3]
    assert observer.warnings == []
    code, output = run_cli("info", out)  # and `vidfuse info` says so
    assert code == 0 and "MaxCLL 1000, MaxFALL 400" in output


def test_hdr10_metadata_reaches_av1_too(tmp_path: Path) -> None:
    clip = write_hdr(tmp_path / "phone.mkv")
    out = tmp_path / "out.mkv"
    upscale(UpscaleOptions(clip, out, encode=EncodeSettings(codec="libsvtav1")))
    codec, _, transfer, hdr = first_frame_facts(out)
    source = first_frame_facts(clip)[3]
    assert (codec, transfer) == ("av1", 16) and hdr is not None and source is not None
    assert (hdr.max_cll, hdr.max_fall) == (1000, 400)
    assert hdr.luminance is not None and source.luminance is not None
    assert float(hdr.luminance[1]) == pytest.approx(1000, rel=1e-3)
    assert hdr.primaries is not None and source.primaries is not None
    for (x, y), (sx, sy) in zip(hdr.primaries, source.primaries, strict=True):
        assert (float(x), float(y)) == pytest.approx((float(sx), float(sy)), abs=1e-4)


def test_a_codec_without_hdr_metadata_says_it_is_lost(tmp_path: Path) -> None:
    clip = write_hdr(tmp_path / "phone.mkv")
    observer = RecordingObserver()
    upscale(UpscaleOptions(clip, tmp_path / "out.mkv", encode=EncodeSettings(codec="libx264")),
            observer)
    assert any("mastering display and light level metadata is lost: libx264" in w
               for w in observer.warnings)


def test_hlg_keeps_its_tags_in_hevc(tmp_path: Path) -> None:
    clip = write_hdr(tmp_path / "hlg.mkv", transfer=18, metadata=False)
    out = tmp_path / "out.mp4"
    upscale(UpscaleOptions(clip, out))
    codec, pix_fmt, transfer, hdr = first_frame_facts(out)
    assert (codec, pix_fmt, transfer, hdr) == ("hevc", "yuv420p10le", 18, None)
