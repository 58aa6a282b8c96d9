"""End-to-end behaviour of `upscale` on small real (generated) videos."""

from __future__ import annotations

import zlib
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from clips import frame_times, moving_frames, read_frames, write_clip, write_interlaced
from recording import RecordingObserver

from vidfuse import EncodeSettings, Span, UpscaleOptions, default_output, probe, upscale
from vidfuse.errors import UsageError
from vidfuse.framerate import StreamCounts
from vidfuse.metrics import psnr
from vidfuse.video.colour import bit_depth
from vidfuse.video.reader import open_source
from vidfuse.video.writer import choose_pix_fmt

LOSSLESS = EncodeSettings(codec="ffv1")


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_factor_keeps_every_input_frame_and_the_duration(lossless_clip: Path, tmp_path: Path,
                                                         factor: int) -> None:
    out = tmp_path / "out.mkv"
    result = upscale(UpscaleOptions(lossless_clip, out, factor=factor, encode=LOSSLESS))
    source, made = read_frames(lossless_clip), read_frames(out)
    assert len(made) == factor * len(source) == result.frames_out
    for i, frame in enumerate(source):
        assert psnr(frame, made[factor * i]) > 50
    with av.open(str(out)) as container:
        assert container.streams.video[0].average_rate == 25 * factor
    times = frame_times(out)
    assert times[factor] == pytest.approx(0.04, abs=1e-3)
    assert times[-1] == pytest.approx(11 * 0.04 + (factor - 1) * 0.04 / factor, abs=2e-3)


def test_interpolated_frames_follow_the_motion(tmp_path: Path) -> None:
    frames = moving_frames(9, 64, 96, step=(4, 2))
    clip = write_clip(tmp_path / "move.mkv", frames[0::2])
    out = tmp_path / "out.mkv"
    upscale(UpscaleOptions(clip, out, engine="flow", encode=LOSSLESS))
    made = read_frames(out)
    middle = [psnr(frames[2 * i + 1][8:-8, 8:-8], made[2 * i + 1][8:-8, 8:-8]) for i in range(4)]
    blended = [psnr(frames[2 * i + 1][8:-8, 8:-8],
                    ((frames[2 * i].astype(int) + frames[2 * i + 2]) // 2)[8:-8, 8:-8])
               for i in range(4)]
    assert min(middle) > 30
    assert np.mean(middle) > np.mean(blended) + 5


def test_target_fps_25_to_30_keeps_duration(lossless_clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mkv"
    upscale(UpscaleOptions(lossless_clip, out, fps=Fraction(30), encode=LOSSLESS))
    times = frame_times(out)
    assert len(times) == 12 * 30 // 25 + 1  # 0.48 s at 30 fps -> ceil(14.4) frames
    assert np.allclose(np.diff(times), 1 / 30, atol=1.5e-3)
    # Instants that coincide with input frames (t = 0 and 0.2 s) reuse them exactly.
    source, made = read_frames(lossless_clip), read_frames(out)
    assert psnr(source[0], made[0]) > 50 and psnr(source[5], made[6]) > 50


def test_variable_frame_rate_new_frames_sit_halfway(tmp_path: Path) -> None:
    pts = [0, 40, 120, 140, 240, 280]  # milliseconds, irregular
    clip = write_clip(tmp_path / "vfr.mkv", moving_frames(6, 64, 96), pts=pts,
                      time_base=Fraction(1, 1000))
    out = tmp_path / "out.mkv"
    upscale(UpscaleOptions(clip, out, encode=LOSSLESS))
    times = np.round(np.array(frame_times(out)) * 1000)
    assert list(times) == [0, 20, 40, 80, 120, 130, 140, 190, 240, 260, 280, 300]


@pytest.mark.parametrize("rate", [Fraction(30), Fraction(30000, 1001)])
def test_millisecond_timestamps_still_give_a_constant_rate(tmp_path: Path,
                                                           rate: Fraction) -> None:
    # Matroska stores times in whole milliseconds (0, 33, 67, ...): that is rounding, not a
    # variable frame rate, and the doubled video must come out evenly spaced.
    clip = write_clip(tmp_path / "ms.mkv", moving_frames(12, 64, 96), rate=rate)
    assert not probe(clip).variable_frame_rate
    out = tmp_path / "out.mp4"
    upscale(UpscaleOptions(clip, out))
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        pts = sorted(packet.pts for packet in container.demux(stream) if packet.pts is not None)
        assert len(set(np.diff(pts))) == 1
        assert pts[1] * stream.time_base == 1 / (2 * rate)
    assert not probe(out).variable_frame_rate


def test_scene_cut_repeats_instead_of_morphing(tmp_path: Path) -> None:
    second_shot = [f // 3 for f in moving_frames(4, 64, 96, seed=2)]  # another, darker scene
    frames = moving_frames(4, 64, 96, seed=1) + second_shot
    clip = write_clip(tmp_path / "cut.mkv", frames)
    out = tmp_path / "out.mkv"
    result = upscale(UpscaleOptions(clip, out, encode=LOSSLESS))
    made = read_frames(out)
    assert result.scene_cuts == 1
    assert psnr(made[6], made[7]) == float("inf")  # frame 3 repeated across the cut
    no_cut = upscale(UpscaleOptions(clip, tmp_path / "nocut.mkv", scene_threshold=0,
                                    encode=LOSSLESS))
    assert no_cut.scene_cuts == 0


def test_audio_is_copied_unchanged_and_in_sync(audio_clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    upscale(UpscaleOptions(audio_clip, out))
    with av.open(str(audio_clip)) as a, av.open(str(out)) as b:
        src = [bytes(p) for p in a.demux(audio=0) if p.size]
        dst = [bytes(p) for p in b.demux(audio=0) if p.size]
        assert dst == src  # packets copied, not re-encoded
    with av.open(str(out)) as b:
        audio, video = b.streams.audio[0], b.streams.video[0]
        assert float(audio.duration * audio.time_base) == pytest.approx(2.0, abs=0.05)
        assert float(video.duration * video.time_base) == pytest.approx(2.0, abs=0.05)
        assert video.frames == 100


def test_slow_motion_keeps_the_rate_and_plays_longer(audio_clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "slow.mkv"
    observer = RecordingObserver()
    result = upscale(UpscaleOptions(audio_clip, out, factor=4, slowmo=True, encode=LOSSLESS),
                     observer)
    source, made = read_frames(audio_clip), read_frames(out)
    assert len(made) == 4 * len(source) == result.frames_out
    times = frame_times(out)
    assert np.allclose(np.diff(times), 1 / 25) and times[-1] == pytest.approx(199 / 25)
    assert all(psnr(frame, made[4 * i]) > 50 for i, frame in enumerate(source))
    assert psnr(source[1], made[2]) < 40  # the picture halfway to frame 1, not frame 1 itself
    with av.open(str(out)) as container:
        assert not container.streams.audio
    assert "slow motion: dropping 1 audio stream, which would no longer match the picture" \
        in observer.warnings
    with pytest.raises(UsageError, match="does not take --fps"):
        upscale(UpscaleOptions(audio_clip, tmp_path / "x.mkv", slowmo=True, fps=Fraction(50)))
    assert default_output(audio_clip, 4, slowmo=True).name == "with_audio_slow4.mp4"


def test_no_audio_drops_it(audio_clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    upscale(UpscaleOptions(audio_clip, out, encode=EncodeSettings(keep_audio=False)))
    with av.open(str(out)) as container:
        assert not container.streams.audio


def test_webm_reencodes_aac_audio_to_opus(audio_clip: Path, tmp_path: Path) -> None:
    observer = RecordingObserver()

    out = tmp_path / "out.webm"
    upscale(UpscaleOptions(audio_clip, out, encode=EncodeSettings(codec="libvpx-vp9")),
            observer)
    with av.open(str(out)) as container:
        assert container.streams.audio[0].codec_context.name == "opus"
        assert float(container.duration / 1e6) == pytest.approx(2.0, abs=0.1)
    assert any("re-encoding" in w for w in observer.warnings)


def damage(clip: Path, target: Path, kind: str, number: int) -> Path:
    """A copy of ``clip`` with the ``number``-th packet of the ``kind`` stream garbled."""
    with av.open(str(clip)) as source, av.open(str(target), "w") as copy:
        streams = {s.index: copy.add_stream_from_template(s) for s in source.streams}
        seen = 0
        for packet in source.demux():
            if packet.dts is None:
                continue
            stream = streams[packet.stream.index]
            seen += packet.stream.type == kind
            if packet.stream.type == kind and seen == number:
                broken = av.Packet(bytes(b ^ 0x5A for b in bytes(packet)))
                broken.pts, broken.dts = packet.pts, packet.dts
                broken.time_base = packet.time_base
                packet = broken
            packet.stream = stream
            copy.mux(packet)
    return target


def test_a_damaged_audio_packet_is_skipped_when_re_encoding(tmp_path: Path) -> None:
    # AVI audio often starts mid-frame (Megamind.avi's AC3 does); ffmpeg skips such packets.
    clip = write_clip(tmp_path / "in.mkv", moving_frames(25, 64, 96), audio_seconds=1.0)
    out = tmp_path / "out.webm"
    upscale(UpscaleOptions(damage(clip, tmp_path / "damaged.mkv", "audio", 4), out,
                           encode=EncodeSettings(codec="libvpx-vp9")))
    with av.open(str(out)) as container:
        assert container.streams.audio[0].codec_context.name == "opus"
        assert float(container.duration / 1e6) == pytest.approx(1.0, abs=0.1)


def test_a_damaged_video_packet_loses_its_frame_not_the_video(tmp_path: Path) -> None:
    # MPEG-4 Part 2 and MJPEG, common in AVI files, refuse a damaged frame outright.
    clip = write_clip(tmp_path / "in.mkv", moving_frames(20, 64, 96), codec="mpeg4",
                      pix_fmt="yuv420p")
    observer = RecordingObserver()
    result = upscale(UpscaleOptions(damage(clip, tmp_path / "damaged.mkv", "video", 7),
                                    tmp_path / "out.mkv"), observer)
    assert (result.frames_in, result.frames_out) == (19, 38)
    assert any("1 damaged video packet(s) skipped" in w for w in observer.warnings)


def test_full_range_bt709_round_trips_without_colour_shift(tmp_path: Path) -> None:
    frames = moving_frames(4, 64, 96)
    clip = write_clip(tmp_path / "full.mkv", frames, full_range=True, matrix=1)
    out = tmp_path / "out.mkv"
    upscale(UpscaleOptions(clip, out, encode=LOSSLESS))
    with av.open(str(out)) as container:
        ctx = container.streams.video[0].codec_context
        assert (int(ctx.color_range), int(ctx.colorspace)) == (2, 1)
    made, source = read_frames(out), read_frames(clip)
    assert psnr(source[1], made[2]) > 50
    # The mean colour must not move (a range or matrix mix-up shifts it by several levels).
    assert np.abs(made[2].mean(axis=(0, 1)) - source[1].mean(axis=(0, 1))).max() < 0.5


def test_ten_bit_input_keeps_its_precision(tmp_path: Path) -> None:
    ramp = np.linspace(0, 65535, 64 * 96, dtype=np.float64).reshape(64, 96)
    frames = [np.repeat(ramp[..., None], 3, axis=2).astype(np.uint16) for _ in range(3)]
    clip = write_clip(tmp_path / "ten.mkv", frames, pix_fmt="yuv420p10le")
    lossless = tmp_path / "out.mkv"
    upscale(UpscaleOptions(clip, lossless, encode=LOSSLESS))
    with av.open(str(lossless)) as container:
        frame = next(container.decode(video=0))
        assert frame.format.name == "yuv420p10le"
        luma = frame.to_ndarray(format="gray16le")
    assert len(np.unique(luma)) > 700  # an 8-bit detour would leave at most 220 levels
    assert psnr(read_frames(clip, "rgb48le")[1], read_frames(lossless, "rgb48le")[2],
                peak=65535) > 50
    encoded = tmp_path / "out.mp4"
    upscale(UpscaleOptions(clip, encoded))
    with av.open(str(encoded)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p10le"
    with open_source(clip) as source:  # NVENC takes 10 bits as P010
        assert choose_pix_fmt(EncodeSettings(codec="hevc_nvenc"), source.info, print) == "p010le"


def test_hdr_input_refused_for_an_8_bit_codec(tmp_path: Path) -> None:
    from vidfuse.errors import UsageError

    frames = [(f.astype(np.uint16) * 257) for f in moving_frames(3, 64, 96)]
    clip = write_clip(tmp_path / "pq.mkv", frames, pix_fmt="yuv420p10le", transfer=16)
    with pytest.raises(UsageError, match="HDR"):
        upscale(UpscaleOptions(clip, tmp_path / "out.webm",
                               encode=EncodeSettings(codec="libvpx-vp9")))
    out = tmp_path / "out.mkv"
    upscale(UpscaleOptions(clip, out, encode=EncodeSettings(codec="libx265")))
    with av.open(str(out)) as container:
        ctx = container.streams.video[0].codec_context
        assert ctx.pix_fmt == "yuv420p10le" and int(ctx.color_trc) == 16
    assert not (tmp_path / "out.webm").exists()


def test_rotation_is_kept(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "rot.mp4", moving_frames(3, 64, 96), codec="libx264",
                      pix_fmt="yuv420p", rotation=90)
    out = tmp_path / "out.mp4"
    upscale(UpscaleOptions(clip, out))
    with av.open(str(out)) as container:
        assert next(container.decode(video=0)).rotation == 90


@pytest.mark.parametrize(("suffix", "codec"), [
    (".mp4", None), (".mkv", None), (".mkv", "libx265"), (".mp4", "libvpx-vp9"),
    (".mp4", "libsvtav1"), (".mov", "libx264")])
def test_anamorphic_pixels_keep_their_shape(tmp_path: Path, suffix: str,
                                            codec: str | None) -> None:
    # DVD-style 720x480 pictures shown at 16:9: without the pixel aspect ratio the output
    # would play squashed.
    clip = write_clip(tmp_path / "dvd.mp4", moving_frames(3, 64, 96), codec="libx264",
                      pix_fmt="yuv420p", pixel_aspect=Fraction(32, 27))
    out = tmp_path / f"out{suffix}"
    observer = RecordingObserver()
    upscale(UpscaleOptions(clip, out, encode=EncodeSettings(codec=codec)), observer)
    with av.open(str(out)) as container:
        assert container.streams.video[0].sample_aspect_ratio == Fraction(32, 27)
    assert probe(out).display_aspect == pytest.approx(96 * 32 / (64 * 27))
    assert not any("aspect" in w for w in observer.warnings)


@pytest.mark.parametrize(("suffix", "codec"), [(".mkv", "ffv1"), (".webm", "libvpx-vp9")])
def test_an_aspect_ratio_the_output_cannot_keep_is_warned_about(tmp_path: Path, suffix: str,
                                                                codec: str) -> None:
    clip = write_clip(tmp_path / "dvd.mp4", moving_frames(3, 64, 96), codec="libx264",
                      pix_fmt="yuv420p", pixel_aspect=Fraction(32, 27))
    observer = RecordingObserver()
    upscale(UpscaleOptions(clip, tmp_path / f"out{suffix}", encode=EncodeSettings(codec=codec)),
            observer)
    assert any("32:27 pixel aspect ratio is lost" in w for w in observer.warnings)


@pytest.mark.parametrize(("pix_fmt", "codec", "expected"), [
    ("yuv444p", "libx264", "yuv444p"), ("yuv422p10le", "libx264", "yuv422p10le"),
    ("yuv444p", "libx265", "yuv444p"), ("yuv420p", "libx264", "yuv420p")])
def test_the_input_chroma_resolution_is_kept(tmp_path: Path, pix_fmt: str, codec: str,
                                             expected: str) -> None:
    # 4:4:4 and 4:2:2 masters (screen captures, ProRes and DNxHR exports) keep their colour
    # resolution, as ffmpeg keeps it; halving it silently would lose detail at coloured edges.
    clip = write_clip(tmp_path / "in.mkv", moving_frames(3, 64, 96), pix_fmt=pix_fmt)
    observer = RecordingObserver()
    out = tmp_path / "out.mp4"
    upscale(UpscaleOptions(clip, out, encode=EncodeSettings(codec=codec)), observer)
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == expected
    assert not [w for w in observer.warnings if "chroma" in w]


def test_chroma_the_codec_cannot_keep_is_warned_about(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "in.mkv", moving_frames(3, 64, 96), pix_fmt="yuv444p")
    observer = RecordingObserver()
    out = tmp_path / "out.mkv"
    upscale(UpscaleOptions(clip, out, encode=EncodeSettings(codec="libsvtav1")), observer)
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"
    assert any("libsvtav1 cannot encode 4:4:4 chroma" in w for w in observer.warnings)


def test_rgb_input_is_written_4_2_0_for_players_with_a_warning(tmp_path: Path) -> None:
    # 4:4:4 H.264 plays in almost no browser or phone, so pictures become 4:2:0 video, and
    # the warning says how to keep every colour sample.
    frames_in = tmp_path / "shots"
    frames_in.mkdir()
    for i, rgb in enumerate(moving_frames(3, 48, 64)):
        cv2.imwrite(str(frames_in / f"{i}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    observer = RecordingObserver()
    out = tmp_path / "out.mp4"
    upscale(UpscaleOptions(frames_in, out), observer)
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuvj420p"  # full range
    assert any("--pix-fmt yuv444p" in w for w in observer.warnings)


def test_odd_size_4_4_4_is_kept_as_it_is(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "odd.mkv", moving_frames(3, 63, 95))
    out = tmp_path / "out.mp4"
    upscale(UpscaleOptions(clip, out))
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (95, 63)


def test_odd_size_is_padded_with_a_warning(tmp_path: Path) -> None:
    observer = RecordingObserver()

    clip = write_clip(tmp_path / "odd.mkv", moving_frames(3, 63, 95), pix_fmt="yuv420p")
    out = tmp_path / "out.mp4"
    upscale(UpscaleOptions(clip, out), observer)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (96, 64)
    assert any("padding 95x63 to 96x64" in w for w in observer.warnings)


def test_a_truncated_input_is_made_up_to_its_end_with_a_warning(tmp_path: Path) -> None:
    # Audio longer than the video is no truncation: the video's own length is what counts.
    clip = write_clip(tmp_path / "full.mkv", moving_frames(50, 32, 48), codec="libx264",
                      pix_fmt="yuv420p", audio_seconds=3.0)
    observer = RecordingObserver()
    upscale(UpscaleOptions(clip, tmp_path / "full_x2.mkv"), observer)
    assert not any("ends early" in w for w in observer.warnings)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    observer = RecordingObserver()
    result = upscale(UpscaleOptions(cut, tmp_path / "cut_x2.mkv"), observer)
    assert 0 < result.frames_in < 50
    warning = next(w for w in observer.warnings if "ends early" in w)
    assert "the file looks truncated" in warning
    assert f"0:{result.frames_in / 25:04.1f}" in warning


@pytest.mark.parametrize(("width", "height"), [(1, 1), (1, 4), (4, 1)])
def test_one_pixel_wide_or_high_4_2_0_is_padded_and_doubled(tmp_path: Path, width: int,
                                                            height: int) -> None:
    # 4:2:0 one pixel across has chroma as wide as its luma: rawvideo, as FFV1 refuses it.
    frames = [np.full((height, width, 3), 60 * i, np.uint8) for i in range(4)]
    clip = write_clip(tmp_path / "tiny.mkv", frames, codec="rawvideo", pix_fmt="yuv420p")
    observer = RecordingObserver()
    out = tmp_path / "out.mkv"
    result = upscale(UpscaleOptions(clip, out), observer)
    assert result.frames_out == 8
    made = read_frames(out)
    assert len(made) == 8 and made[0].shape[:2] == (height + height % 2, width + width % 2)
    assert any(f"padding {width}x{height}" in w for w in observer.warnings)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_title_date_and_language_are_kept(tmp_path: Path, suffix: str) -> None:
    # Photo and video libraries sort by the recording date; ffmpeg keeps these by default.
    clip = write_clip(tmp_path / "tagged.mp4", moving_frames(3, 64, 96), codec="libx264",
                      pix_fmt="yuv420p")
    tagged = tmp_path / "tagged2.mp4"
    with av.open(str(clip)) as source, av.open(str(tagged), "w") as target:
        target.metadata.update(title="Holiday", creation_time="2020-01-02T03:04:05.000000Z")
        stream = target.add_stream_from_template(source.streams.video[0])
        stream.metadata["language"] = "fra"
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                target.mux(packet)
    out = tmp_path / f"out{suffix}"
    upscale(UpscaleOptions(tagged, out))
    with av.open(str(out)) as container:
        assert container.metadata["title"] == "Holiday"
        assert container.metadata["creation_time"].startswith("2020-01-02T03:04:05")
        assert container.streams.video[0].language == "fra"
        assert "major_brand" not in container.metadata or suffix == ".mp4"


def test_chapters_mark_the_same_moments(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "in.mkv", moving_frames(50, 64, 96),
                      chapters=[(0, 1, "Intro"), (1, 2, "Main")])

    def chapters(options: UpscaleOptions) -> list[tuple[float, float, str]]:
        upscale(options)
        with av.open(str(options.output)) as container:
            return [(round(float(c["start"] * c["time_base"]), 3),
                     round(float(c["end"] * c["time_base"]), 3), c["metadata"]["title"])
                    for c in container.chapters()]

    assert chapters(UpscaleOptions(clip, tmp_path / "o.mp4")) == [(0, 1, "Intro"),
                                                                   (1, 2, "Main")]
    assert chapters(UpscaleOptions(clip, tmp_path / "o.mkv", span=Span(0.5))) == [
        (0, 0.5, "Intro"), (0.5, 1.5, "Main")]
    assert chapters(UpscaleOptions(clip, tmp_path / "slow.mkv", slowmo=True)) == [
        (0, 2, "Intro"), (2, 4, "Main")]
    assert [(c.start, c.metadata["title"]) for c in probe(clip).chapters] == [
        (0, "Intro"), (1, "Main")]  # `vidfuse info` lists them


def test_transparency_that_cannot_be_kept_is_flagged(tmp_path: Path) -> None:
    frames_in = tmp_path / "sprites"
    frames_in.mkdir()
    for i, rgb in enumerate(moving_frames(3, 48, 64)):
        bgra = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA)
        bgra[:, :8, 3] = 0
        cv2.imwrite(str(frames_in / f"{i}.png"), bgra)
    observer = RecordingObserver()
    result = upscale(UpscaleOptions(frames_in, tmp_path / "out.mp4"), observer)
    assert result.frames_out == 6
    assert any("input has transparency" in w for w in observer.warnings)


def _tinted(alpha: int | None) -> list[np.ndarray]:
    """RGB(A) frames whose alpha, if any, is ``alpha`` everywhere."""
    frames = moving_frames(4, 24, 32)
    if alpha is None:
        return frames
    return [np.dstack([f, np.full(f.shape[:2], alpha, np.uint8)]) for f in frames]


def _encode(path: Path, codec: str, pix_fmt: str, frames: list[np.ndarray]) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=10)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = pix_fmt
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgba" if rgb.shape[2] == 4
                                               else "rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


@pytest.mark.parametrize(("name", "codec", "pix_fmt", "alpha", "warned"), [
    ("opaque.gif", "gif", "rgb8", None, False),  # GIF decodes with alpha, all opaque
    ("opaque.mkv", "ffv1", "bgra", 255, False),
    ("half.mkv", "ffv1", "bgra", 128, True),
    ("alpha.webm", "libvpx-vp9", "yuva420p", 128, True),  # alpha beside the picture
])
def test_transparency_is_flagged_only_where_there_is_some(
        tmp_path: Path, name: str, codec: str, pix_fmt: str, alpha: int | None,
        warned: bool) -> None:
    clip = _encode(tmp_path / name, codec, pix_fmt, _tinted(alpha))
    observer = RecordingObserver()
    upscale(UpscaleOptions(clip, tmp_path / "out.mkv"), observer)
    assert any("transparency" in w for w in observer.warnings) == warned


def test_cover_art_listed_first_is_not_taken_for_the_video(tmp_path: Path) -> None:
    clip = tmp_path / "covered.mp4"
    with av.open(str(clip), "w") as container:
        cover = container.add_stream("mjpeg", rate=1)
        cover.width, cover.height, cover.pix_fmt = 32, 32, "yuvj420p"
        cover.disposition = av.stream.Disposition.attached_pic
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 96, 64, "yuv420p"
        art = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 200, np.uint8), format="rgb24")
        container.mux(cover.encode(art.reformat(format="yuvj420p")))
        container.mux(cover.encode(None))
        for index, rgb in enumerate(moving_frames(4, 64, 96)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = index
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
    assert probe(clip).width == 96
    assert upscale(UpscaleOptions(clip, tmp_path / "out.mp4")).frames_out == 8


def test_default_output_sits_beside_the_input(tmp_path: Path) -> None:
    from vidfuse import default_output

    assert default_output(tmp_path / "a.mov") == tmp_path / "a_x2.mov"
    assert default_output(tmp_path / "a.avi", 4) == tmp_path / "a_x4.mkv"
    assert default_output(tmp_path / "a.mp4", fps=Fraction(24000, 1001)) == \
        tmp_path / "a_23.98fps.mp4"
    assert default_output(tmp_path) == tmp_path.with_name(f"{tmp_path.name}_x2")


def _combing(path: Path) -> float:
    """Mean luma step between each odd line and the average of the lines around it."""
    lines = [cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
             for rgb in read_frames(path)]
    return float(np.mean([np.abs(y[1:-1:2] - (y[0:-2:2] + y[2::2]) / 2).mean()
                          for y in lines]))


def test_interlaced_input_is_flagged(tmp_path: Path) -> None:
    clip = write_interlaced(tmp_path / "tff.mp4", 3)
    observer = RecordingObserver()
    upscale(UpscaleOptions(clip, tmp_path / "out.mp4"), observer)
    assert any("interlaced" in w and "--deinterlace" in w for w in observer.warnings)
    assert probe(clip).interlaced
    assert not probe(tmp_path / "out.mp4").interlaced


def test_deinterlace_removes_the_combing_and_keeps_the_timing(tmp_path: Path) -> None:
    clip = write_interlaced(tmp_path / "tff.mp4", 6)
    combed, clean = tmp_path / "combed.mp4", tmp_path / "clean.mp4"
    upscale(UpscaleOptions(clip, combed))
    observer = RecordingObserver()
    upscale(UpscaleOptions(clip, clean, deinterlace=True), observer)
    assert not [w for w in observer.warnings if "interlaced" in w]
    assert frame_times(clean) == frame_times(combed)
    assert len(frame_times(clean)) == 12
    assert _combing(clean) < _combing(combed) / 3


def test_deinterlace_leaves_progressive_frames_untouched(lossless_clip: Path,
                                                         tmp_path: Path) -> None:
    plain, asked = tmp_path / "plain.mkv", tmp_path / "asked.mkv"
    upscale(UpscaleOptions(lossless_clip, plain, encode=EncodeSettings(codec="ffv1")))
    upscale(UpscaleOptions(lossless_clip, asked, encode=EncodeSettings(codec="ffv1"),
                           deinterlace=True))
    assert all(np.array_equal(a, b) for a, b in zip(read_frames(plain), read_frames(asked),
                                                    strict=True))


def test_image_directory_in_png_directory_out(tmp_path: Path) -> None:
    frames_in = tmp_path / "shots"
    frames_in.mkdir()
    frames = moving_frames(4, 48, 64)
    for i, rgb in enumerate(frames):  # natural order: 2 before 10
        cv2.imwrite(str(frames_in / f"f{[1, 2, 10, 11][i]}.png"),
                    cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    out = tmp_path / "frames"
    result = upscale(UpscaleOptions(frames_in, out, image_fps=Fraction(24)))
    written = sorted(out.iterdir())
    assert [p.name for p in written[:2]] == ["000001.png", "000002.png"]
    assert len(written) == result.frames_out == 8
    for i, rgb in enumerate(frames):
        back = cv2.cvtColor(cv2.imread(str(written[2 * i])), cv2.COLOR_BGR2RGB)
        assert psnr(rgb, back) > 50


@pytest.mark.parametrize("sample", [np.uint8, np.uint16], ids=["8-bit", "16-bit"])
def test_png_frames_in_keep_their_depth_and_kept_frames_are_bit_exact(
        tmp_path: Path, sample: type) -> None:
    frames_in = tmp_path / "shots"
    frames_in.mkdir()
    rng = np.random.default_rng(3)
    # Full-range noise on top of the motion: every code value of the depth can occur.
    frames = [(rgb.astype(sample) * (257 if sample is np.uint16 else 1))
              ^ rng.integers(0, 4, rgb.shape).astype(sample) for rgb in moving_frames(3, 48, 64)]
    for i, rgb in enumerate(frames):
        cv2.imwrite(str(frames_in / f"{i}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    out = tmp_path / "frames"
    upscale(UpscaleOptions(frames_in, out))
    written = sorted(out.iterdir())
    assert len(written) == 6
    for i, rgb in enumerate(frames):
        back = cv2.imread(str(written[2 * i]), cv2.IMREAD_UNCHANGED)
        assert back.dtype == sample
        assert np.array_equal(cv2.cvtColor(back, cv2.COLOR_BGR2RGB), rgb)
    assert cv2.imread(str(written[1]), cv2.IMREAD_UNCHANGED).dtype == sample


@pytest.mark.parametrize(("sample", "expected"), [(np.uint8, 8), (np.uint16, 10)])
def test_rgb_input_keeps_its_own_bit_depth(tmp_path: Path, sample: type, expected: int) -> None:
    # RGB is processed at 16 bits, but 8-bit pictures must still give 8-bit video: 10-bit
    # H.264 does not play in browsers or on most phones.
    frames_in = tmp_path / "shots"
    frames_in.mkdir()
    scale = 257 if sample is np.uint16 else 1
    for i, rgb in enumerate(moving_frames(3, 48, 64)):
        cv2.imwrite(str(frames_in / f"{i}.png"),
                    cv2.cvtColor(rgb.astype(sample) * scale, cv2.COLOR_RGB2BGR))
    out = tmp_path / "out.mp4"
    upscale(UpscaleOptions(frames_in, out))
    with av.open(str(out)) as container:
        assert bit_depth(container.streams.video[0].codec_context.pix_fmt) == expected


def test_subtitles_and_fonts_are_kept_where_the_container_can_hold_them(tmp_path: Path
                                                                      ) -> None:
    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:00,080 --> 00:00:00,300\nHello world\n\n")
    plain = write_clip(tmp_path / "plain.mkv", moving_frames(10, 48, 64))
    clip = tmp_path / "subs.mkv"
    with av.open(str(clip), "w") as dst, av.open(str(plain)) as video, \
            av.open(str(srt)) as subs:
        streams = {id(s): dst.add_stream_from_template(s)
                   for s in (video.streams.video[0], subs.streams[0])}
        # Styled (ASS) subtitles render with fonts the file carries as attachments.
        dst.add_attachment(name="Title.ttf", mimetype="font/ttf", data=b"font bytes" * 50)
        for src in (subs, video):
            for packet in src.demux():
                if packet.dts is not None:
                    packet.stream = streams[id(packet.stream)]
                    dst.mux(packet)
    out = tmp_path / "out.mkv"
    upscale(UpscaleOptions(clip, out, encode=LOSSLESS))
    with av.open(str(out)) as container:
        cues = [(bytes(p), float(p.pts * p.time_base)) for p in container.demux(subtitles=0)
                if p.size]
        fonts = [(s.name, s.mimetype, bytes(s.data)) for s in container.streams
                 if s.type == "attachment"]
    assert cues == [(b"Hello world", 0.08)]
    assert fonts == [("Title.ttf", "font/ttf", b"font bytes" * 50)]
    observer = RecordingObserver()

    upscale(UpscaleOptions(clip, tmp_path / "out.mp4"), observer)
    assert any("converting subtitle stream #1 (subrip) to mov_text" in w
               for w in observer.warnings)
    assert any("dropping 1 attachment (Title.ttf)" in w for w in observer.warnings)


@pytest.mark.parametrize("engine", ["flow", "blend", "convlstm"])
@pytest.mark.parametrize("side", [1, 2, 3, 5, 8, 10, 11])
def test_every_size_from_one_pixel_works(tmp_path: Path, engine: str, side: int) -> None:
    """Icons, test patterns, thumbnails: too small for the motion estimate as they are."""
    frames = [f[:side, :side] for f in moving_frames(4, 16, 16)]
    clip = write_clip(tmp_path / "tiny.mkv", frames)
    out = tmp_path / "out.mkv"
    upscale(UpscaleOptions(clip, out, engine=engine, encode=LOSSLESS))
    with av.open(str(out)) as container:
        decoded = list(container.decode(video=0))
    assert len(decoded) == 8
    assert {(f.width, f.height) for f in decoded} == {(side, side)}


def test_an_icc_profile_the_output_cannot_carry_is_named(tmp_path: Path) -> None:
    frames_in = tmp_path / "graded"
    frames_in.mkdir()
    for i, rgb in enumerate(moving_frames(3, 24, 32)):
        cv2.imwrite(str(frames_in / f"{i}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    observer = RecordingObserver()
    upscale(UpscaleOptions(frames_in, tmp_path / "plain.mkv"), observer)
    assert not any("ICC" in w for w in observer.warnings)
    # An iCCP chunk (name, compression method, zlib-compressed profile) before the pixels,
    # as image editors write it.
    first = frames_in / "0.png"
    data = first.read_bytes()
    body = b"Display P3\x00\x00" + zlib.compress(b"profile bytes")
    chunk = (len(body).to_bytes(4, "big") + b"iCCP" + body
             + zlib.crc32(b"iCCP" + body).to_bytes(4, "big"))
    first.write_bytes(data[:33] + chunk + data[33:])  # after the signature and IHDR
    upscale(UpscaleOptions(frames_in, tmp_path / "profiled.mkv"), observer)
    assert any("ICC colour profile" in w for w in observer.warnings)


def test_png_frames_say_what_they_cannot_hold(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "in.mp4", moving_frames(4, 64, 96), codec="libx264",
                      pix_fmt="yuv420p", rotation=90, audio_seconds=0.2,
                      chapters=[(0.0, 0.16, "All")])
    observer = RecordingObserver()
    upscale(UpscaleOptions(clip, tmp_path / "frames"), observer)
    assert any("PNG frames keep pictures only: dropping 1 audio stream, 1 "
               "chapter(s), the 90° display rotation" in w for w in observer.warnings)


def _sprite(count: int, alpha_of: int = 0) -> list[np.ndarray]:
    """RGBA frames: an opaque square gliding over a background of opacity ``alpha_of``."""
    frames = []
    for index, rgb in enumerate(moving_frames(count, 48, 64)):
        alpha = np.full((48, 64), alpha_of, np.uint8)
        alpha[12:36, 4 + 4 * index:28 + 4 * index] = 255
        frames.append(np.dstack([rgb, alpha]))
    return frames


def _alphas(path: Path) -> list[np.ndarray]:
    """Each frame's opacity, read with libvpx where WebM keeps it beside the picture."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        decoder = (av.CodecContext.create("libvpx-vp9", "r")
                   if stream.metadata.get("alpha_mode") == "1" else stream.codec_context)
        frames = [f for p in container.demux(stream) for f in decoder.decode(p)]
    return [f.to_ndarray(format="rgba")[..., 3] for f in frames]


@pytest.mark.parametrize(("name", "codec"), [("out.webm", None), ("out.mkv", "ffv1")])
def test_vp9_alpha_is_kept_where_the_output_holds_it(tmp_path: Path, name: str,
                                                     codec: str | None) -> None:
    clip = _encode(tmp_path / "sprite.webm", "libvpx-vp9", "yuva420p", _sprite(4, 60))
    out = tmp_path / name
    observer = RecordingObserver()
    upscale(UpscaleOptions(clip, out, encode=EncodeSettings(codec=codec)), observer)
    assert not any("transparency" in w for w in observer.warnings)
    source, made = _alphas(clip), _alphas(out)
    assert len(made) == 8
    for index, alpha in enumerate(source):  # kept frames: their own opacity
        assert np.abs(made[2 * index].astype(int) - alpha).mean() < 2
    # A new frame's square sits halfway: opaque where both neighbours' squares overlap.
    assert made[1][24, 20] > 240 and made[1][24, 2] < 80


def test_transparent_png_frames_keep_their_alpha_bit_exact(tmp_path: Path) -> None:
    frames_in = tmp_path / "sprites"
    frames_in.mkdir()
    frames = _sprite(3, 0)
    for index, rgba in enumerate(frames):
        cv2.imwrite(str(frames_in / f"{index}.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    out = tmp_path / "frames"
    observer = RecordingObserver()
    upscale(UpscaleOptions(frames_in, out), observer)
    assert not any("transparency" in w for w in observer.warnings)
    written = [cv2.cvtColor(cv2.imread(str(p), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
               for p in sorted(out.iterdir())]
    assert all(np.array_equal(written[2 * i], rgba) for i, rgba in enumerate(frames))
    assert written[1][24, 20, 3] == 255 and written[1][24, 60, 3] == 0  # both squares, neither


@pytest.mark.parametrize(("decoded", "working"), [
    ("nv12", "yuv420p"), ("yuyv422", "yuv422p"), ("uyvy422", "yuv422p"), ("nv16", "yuv422p"),
    ("nv24", "yuv444p"), ("p010le", "yuv420p10le"), ("gray", "yuv420p")])
def test_packed_and_semi_planar_input_keeps_its_chroma_resolution(decoded: str,
                                                                  working: str) -> None:
    # Webcams and capture cards deliver yuyv422 and nv12: 4:2:2 must not become 4:2:0.
    from vidfuse.video.colour import working_format_for

    assert working_format_for(decoded).pix_fmt == working


def test_a_cancel_event_stops_the_run_and_leaves_no_output(lossless_clip: Path,
                                                           tmp_path: Path) -> None:
    import threading

    from vidfuse import Cancelled

    cancel = threading.Event()

    class CancelAfterFive(RecordingObserver):
        def advanced(self, counts: StreamCounts) -> None:
            if counts.frames_out >= 5:
                cancel.set()

    out = tmp_path / "out.mkv"
    with pytest.raises(Cancelled):
        upscale(UpscaleOptions(lossless_clip, out, encode=LOSSLESS), CancelAfterFive(),
                cancel=cancel)
    assert list(tmp_path.iterdir()) == []
