"""Nothing lost: audio, subtitles and how players label them reach the output, or a warning
says what changed (tests build their inputs with PyAV and read the outputs back)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import av
import pytest
from clips import (
    Track,
    audio_seconds,
    write_tracks,
    write_with_angle,
    write_with_cover,
)
from test_cli import assert_one_line_error, run_cli

from vidfuse.video import streams as stream_routes


@dataclass(frozen=True)
class Facts:
    """What a stream says about itself (read while its file is open)."""

    codec: str
    language: str | None
    title: str | None
    disposition: av.stream.Disposition
    rate: int | None = None
    channels: int | None = None


def streams(path: Path) -> list[Facts]:
    with av.open(str(path)) as container:
        return [Facts(s.codec_context.codec.canonical_name, s.language,
                      s.metadata.get("title"), s.disposition,
                      getattr(s.codec_context, "sample_rate", None),
                      s.codec_context.layout.nb_channels if s.type == "audio" else None)
                for s in container.streams]


def texts(path: Path) -> list[str]:
    """The words of the first subtitle stream, markup and length prefixes stripped."""
    with av.open(str(path)) as container:
        stream = container.streams.subtitles[0]
        found = []
        for packet in container.demux(stream):
            subtitle = stream.codec_context.decode2(packet) if packet.size else None
            found += [rect.dialogue.decode() for rect in subtitle or ()]
        return [t for t in found if t]


@pytest.mark.parametrize(("track", "container", "rate"), [
    (Track("pcm_s16le", 48000, "stereo"), "avi", 48000),
    (Track("pcm_s24le", 192000, "7.1"), "mkv", 96000),  # AAC's highest rate
    (Track("pcm_s32le", 8000, "mono"), "mkv", 8000),
    (Track("pcm_f32le", 44100, "5.1"), "mkv", 44100),
], ids=["s16-stereo-48k-avi", "s24-7.1-192k", "s32-mono-8k", "f32-5.1-44.1k"])
def test_pcm_audio_of_any_layout_and_rate_is_re_encoded_for_mp4(
        tmp_path: Path, track: Track, container: str, rate: int) -> None:
    clip = write_tracks(tmp_path / f"camera.{container}", [track],
                        video_codec="libx264", pix_fmt="yuv420p")
    out = tmp_path / "out.mp4"
    code, output = run_cli("upscale", clip, "--out", out)
    assert code == 0, output
    assert f"re-encoding audio stream #1 ({track.codec}) to AAC" in output
    audio = streams(out)[1]
    assert (audio.codec, audio.rate) == ("aac", rate)
    assert audio.channels == av.AudioLayout(track.layout).nb_channels
    assert audio_seconds(out, 1) == pytest.approx(audio_seconds(clip, 1), abs=0.05)


def test_audio_mp4_holds_is_copied_packet_for_packet(tmp_path: Path) -> None:
    clip = write_tracks(tmp_path / "in.mp4", [Track("libmp3lame", 44100)],
                        video_codec="libx264", pix_fmt="yuv420p")
    out = tmp_path / "out.mp4"
    code, output = run_cli("upscale", clip, "--out", out)
    assert code == 0, output
    assert "warning" not in output

    def packets(path: Path) -> list[bytes]:
        with av.open(str(path)) as container:
            return [bytes(p) for p in container.demux(audio=0) if p.size]

    assert streams(out)[1].codec == "mp3"
    assert packets(out) == packets(clip)


MULTILINGUAL = [
    Track("aac", language="eng", title="English", disposition="default"),
    Track("pcm_s16le", 44100, "mono", language="fra", disposition="comment"),
    Track("subrip", language="ger", title="Deutsch", disposition="forced|hearing_impaired"),
]


def test_languages_titles_and_dispositions_survive_in_matroska(tmp_path: Path) -> None:
    clip = write_tracks(tmp_path / "in.mkv", MULTILINGUAL)
    out = tmp_path / "out.mkv"
    code, output = run_cli("upscale", clip, "--out", out, "--codec", "ffv1")
    assert code == 0, output
    for source, kept in zip(streams(clip)[1:], streams(out)[1:], strict=True):
        assert kept == source
    assert texts(out) == ["Hallo Welt", "Zweite Zeile"]
    code, output = run_cli("info", out)  # `vidfuse info` lists them
    assert code == 0 and "subrip ger, forced, hearing impaired" in output
    assert "pcm_s16le 44100 Hz 1 channels, fra, comment" in " ".join(output.split())


def test_text_subtitles_become_mov_text_in_mp4_with_their_languages(tmp_path: Path) -> None:
    clip = write_tracks(tmp_path / "in.mkv", MULTILINGUAL)
    out = tmp_path / "out.mp4"
    code, output = run_cli("upscale", clip, "--out", out)
    assert code == 0, output
    assert "converting subtitle stream #3 (subrip) to mov_text" in output
    assert "styling is lost" in output
    eng, fra, ger = streams(out)[1:]
    assert [s.language for s in (eng, fra, ger)] == ["eng", "fra", "ger"]
    assert ger.codec == "mov_text"
    flags = av.stream.Disposition
    assert eng.disposition & flags.default and not fra.disposition & flags.default
    assert fra.disposition & flags.comment
    assert ger.disposition & flags.forced and ger.disposition & flags.hearing_impaired
    assert texts(out) == ["Hallo Welt", "Zweite Zeile"]


def test_mov_text_becomes_subrip_in_matroska(tmp_path: Path) -> None:
    clip = write_tracks(tmp_path / "in.mp4", [Track("mov_text", language="spa")],
                        video_codec="libx264", pix_fmt="yuv420p")
    out = tmp_path / "out.mkv"
    code, output = run_cli("upscale", clip, "--out", out)
    assert code == 0, output
    subtitle = streams(out)[1]
    assert (subtitle.codec, subtitle.language) == ("subrip", "spa")
    assert texts(out) == ["Hallo Welt", "Zweite Zeile"]


def test_webm_without_codec_is_vp9_with_opus(tmp_path: Path) -> None:
    clip = write_tracks(tmp_path / "in.mkv", [Track("aac")])
    out = tmp_path / "out.webm"
    code, output = run_cli("upscale", clip, "--out", out)
    assert code == 0, output
    video, audio = streams(out)
    assert (video.codec, audio.codec) == ("vp9", "opus")


def test_an_audio_failure_names_the_audio_stream(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # MP3 holds two channels at most: an encoder that refuses this stream's 7.1.
    monkeypatch.setitem(stream_routes._AUDIO_FALLBACK, "mp4", "libmp3lame")
    clip = write_tracks(tmp_path / "in.mkv", [Track("pcm_s16le", 48000, "7.1")])
    out = tmp_path / "out.mp4"
    code, output = run_cli("upscale", clip, "--out", out)
    assert code == 1
    assert_one_line_error(output, "cannot re-encode audio stream #1 (pcm_s16le)")
    assert "in.mkv" not in output.splitlines()[-1]
    assert not out.exists()


@pytest.mark.parametrize(("suffix", "lost"), [
    (".mov", "forced, hearing impaired"), (".webm", "hearing impaired")])
def test_dispositions_a_container_cannot_mark_are_named(tmp_path: Path, suffix: str,
                                                        lost: str) -> None:
    clip = write_tracks(tmp_path / "in.mkv", [MULTILINGUAL[2]])
    code, output = run_cli("upscale", clip, "--out", tmp_path / f"out{suffix}")
    assert code == 0, output
    assert f"cannot mark subtitle stream #1 (subrip) as {lost}" in output


def test_a_stream_whose_codec_is_unknown_is_dropped_with_a_warning(tmp_path: Path) -> None:
    # A damaged header can name a codec FFmpeg does not know: PyAV gives that stream no
    # codec context at all.
    from clips import moving_frames, write_clip

    clip = write_clip(tmp_path / "in.mkv", moving_frames(6, 32, 48), codec="libx264",
                      pix_fmt="yuv420p", audio_seconds=0.3)
    data = clip.read_bytes()
    damaged = tmp_path / "damaged.mkv"
    damaged.write_bytes(data.replace(b"A_AAC", b"A_XYZ", 1))
    out = tmp_path / "out.mkv"
    code, output = run_cli("upscale", damaged, "--out", out)
    assert code == 0, output
    assert "dropping audio stream #1: its codec is unknown" in output
    assert [s.codec for s in streams(out)] == ["h264"]
    code, output = run_cli("info", damaged)
    assert code == 0 and "unknown codec" in output, output


def test_stream_titles_reach_mp4_as_track_names_and_come_back_to_matroska(
        tmp_path: Path) -> None:
    clip = write_tracks(tmp_path / "in.mkv", MULTILINGUAL)
    mp4 = tmp_path / "out.mp4"
    code, output = run_cli("upscale", clip, "--out", mp4)
    assert code == 0, output
    with av.open(str(mp4)) as container:
        names = [(s.metadata.get("name"), s.metadata.get("handler_name"))
                 for s in container.streams][1:]
    assert names[0] == ("English", "English") and names[2] == ("Deutsch", "Deutsch")
    back = tmp_path / "back.mkv"
    code, output = run_cli("upscale", mp4, "--out", back, "--factor", "2")
    assert code == 0, output
    assert [s.title for s in streams(back)[1:]] == ["English", None, "Deutsch"]


def _covers(path: Path) -> list[tuple[str | None, bytes]]:
    """Cover pictures as FFmpeg lists them, from either container: (file name, bytes)."""
    with av.open(str(path)) as container:
        covers = [s for s in container.streams.video
                  if s.disposition & av.stream.Disposition.attached_pic]
        names = [s.metadata.get("filename") for s in covers]
        data = [bytes(next(p for p in container.demux(s) if p.size)) for s in covers]
    return list(zip(names, data, strict=True))


@pytest.mark.parametrize(("source", "target"), [
    ("mp4", "mp4"), ("mp4", "mkv"), ("mkv", "mkv"), ("mkv", "mp4"), ("mp4", "mov"),
    ("mkv", "webm")])
def test_cover_art_is_kept_in_mp4_and_matroska_and_named_where_dropped(
        tmp_path: Path, source: str, target: str) -> None:
    clip = tmp_path / f"cover.{source}"
    given = write_with_cover(clip)
    out = tmp_path / f"out.{target}"
    code, output = run_cli("upscale", clip, "--out", out, "--start", "0.04")
    assert code == 0, output
    said = " ".join(output.split())
    with av.open(str(out)) as container:  # the cover is not taken for the video
        assert sum(1 for p in container.demux(container.streams.video[0]) if p.size) == 10
    if target == "mp4":
        assert _covers(out) == [(None, given)] and "cover art" not in said
    elif target == "mkv":
        assert _covers(out) == [("cover.jpg", given)] and "cover art" not in said
    else:
        assert not _covers(out)
        assert "dropping the cover art (video stream #1 (mjpeg)): of the outputs here only " \
               "MP4 and Matroska keep it" in said


def test_a_gif_cover_is_attached_to_matroska_and_named_where_mp4_cannot_hold_it(
        tmp_path: Path) -> None:
    clip = tmp_path / "cover.mkv"
    given = write_with_cover(clip, gif=True)
    for target in ("mkv", "mp4"):
        out = tmp_path / f"out.{target}"
        code, output = run_cli("upscale", clip, "--out", out)
        assert code == 0, output
        said = " ".join(output.split())
        if target == "mkv":
            assert _covers(out) == [("cover.gif", given)] and "cover art" not in said
        else:
            assert not _covers(out)
            assert "dropping the cover art (video stream #1 (gif)): MP4 keeps only JPEG and " \
                   "PNG cover art (.mkv keeps any)" in said


@pytest.mark.parametrize(("codec", "target"), [
    ("libx264", "mkv"), ("libx264", "mp4"), ("ffv1", "mkv"), ("libx264", "webm"),
    ("ffv1", "mp4"), ("rawvideo", "mkv")])
def test_another_video_stream_is_copied_where_the_container_holds_it(
        tmp_path: Path, codec: str, target: str) -> None:
    clip = tmp_path / "angles.mkv"
    given = write_with_angle(clip, codec)
    out = tmp_path / f"out.{target}"
    code, output = run_cli("upscale", clip, "--out", out)
    assert code == 0, output
    said = " ".join(output.split())
    name = {"libx264": "h264"}.get(codec, codec)
    with av.open(str(out)) as container:
        videos = container.streams.video
        copied = [bytes(p) for p in container.demux(videos[-1]) if p.size] \
            if len(videos) == 2 else []
        title = videos[-1].metadata.get("title") or videos[-1].metadata.get("name")
    if (target == "mkv" and codec != "rawvideo") or (target == "mp4" and codec == "libx264"):
        assert copied == given and title == "Side camera" and "dropping" not in said
        starts = _first_times_by_stream(out)
        assert starts[0] == pytest.approx(starts[1], abs=0.001)
    else:
        assert not copied
        fmt = {"mkv": "matroska"}.get(target, target)
        hint = "" if codec == "rawvideo" else " (use .mkv)"  # Matroska's muxer refuses it
        assert f"dropping video stream #1 ({name}): only the main video is made, and " \
               f"{fmt} cannot hold this one as it is{hint}" in said


def test_a_span_copies_another_video_from_its_first_keyframe_in_the_span(
        tmp_path: Path) -> None:
    clip = tmp_path / "angles.mkv"
    given = write_with_angle(clip, "libx264")
    out = tmp_path / "out.mkv"
    code, output = run_cli("upscale", clip, "--out", out, "--start", "0.2")
    assert code == 0, output
    with av.open(str(out)) as container:
        angle = container.streams.video[1]
        packets = [p for p in container.demux(angle) if p.size]
        assert packets[0].is_keyframe
        assert [bytes(p) for p in packets] == given[10:]  # frames 10-29, from 0.4 s
        container.seek(0)
        assert len(list(container.decode(angle))) == 20
    starts = _first_times_by_stream(out)
    assert starts[1] - starts[0] == pytest.approx(0.2, abs=0.001)  # 0.4 s in, as in the input


def _first_times_by_stream(path: Path) -> dict[int, float]:
    with av.open(str(path)) as container:
        found: dict[int, float] = {}
        for packet in container.demux():
            if packet.pts is not None and packet.time_base is not None:
                time = float(packet.pts * packet.time_base)
                found[packet.stream.index] = min(time, found.get(packet.stream.index, time))
        return found


def _first_times(path: Path) -> dict[str, float]:
    """When each stream of a file vidfuse wrote starts: its earliest packet (B-frames come
    out of order), in seconds."""
    with av.open(str(path)) as container:
        found: dict[str, float] = {}
        for packet in itertools.islice(container.demux(), 200):
            if packet.pts is not None and packet.time_base is not None:
                time = float(packet.pts * packet.time_base)
                found[packet.stream.type] = min(time, found.get(packet.stream.type, time))
        return found


# AAC starts 1024 samples (its priming) before the first sample given to its encoder.
_AAC_PRIMING = 1024 / 48000


@pytest.mark.parametrize(("source", "target", "start", "audio_start"), [
    ("ts", "mp4", 11.4, 11.4), ("ts", "mkv", 11.4, 11.4), ("mkv", "mp4", 11.4, 11.4),
    # Matroska starting before 0: its video packets before 0 carry no timestamps.
    ("mkv", "mp4", -0.5, -0.5), ("mkv", "mkv", -0.5, -0.5), ("mkv", "mp4", -0.5, 0.0)])
def test_the_output_clock_starts_at_zero_keeping_the_streams_offset(
        tmp_path: Path, source: str, target: str, start: float, audio_start: float) -> None:
    from clips import write_started_at

    clip = write_started_at(tmp_path / f"in.{source}", start, audio_start)
    out = tmp_path / f"out.{target}"
    code, output = run_cli("upscale", clip, "--out", out)
    assert code == 0, output
    made = _first_times(out)
    # At 0, or AAC's priming before it (hidden by the file's edit list, as ffmpeg writes it).
    assert -_AAC_PRIMING - 0.002 < min(made.values()) < 0.002
    # Within one output frame of the input's offset, as ffmpeg keeps it.
    assert made["video"] - made["audio"] == pytest.approx(
        round(start * 25) / 25 - (audio_start - _AAC_PRIMING), abs=0.02)
    with av.open(str(out)) as container:
        assert container.duration / 1e6 < 2.6  # no empty lead-in


def test_a_span_of_a_file_whose_clock_starts_before_zero(tmp_path: Path) -> None:
    from clips import write_started_at

    # Matroska finds no keyframe before the span to seek to (the first has no timestamp).
    clip = write_started_at(tmp_path / "in.mkv", -0.48)
    out = tmp_path / "out.mp4"
    code, output = run_cli("upscale", clip, "--out", out, "--start", "0.8")
    assert code == 0, output
    made = _first_times(out)
    assert made["video"] == pytest.approx(0, abs=0.002)
    assert made["audio"] == pytest.approx(0, abs=1024 / 48000)  # its first packet in the span
    with av.open(str(out)) as container:
        # A span counts from the video's start as the file states it (FFmpeg: its first
        # timestamp in decoding order, 0.12 s here): from 0.92 s to 1.48 s.
        assert container.streams.video[0].frames == 2 * 15


def test_a_tag_that_is_not_utf8_reads_with_a_replacement_character(tmp_path: Path) -> None:
    clip = tmp_path / "angles.mkv"
    write_with_angle(clip, "libx264")
    damaged = tmp_path / "damaged.mkv"  # one byte of the angle's title hit
    damaged.write_bytes(clip.read_bytes().replace(b"Side camera", b"Side \xe4amera", 1))
    code, output = run_cli("info", damaged)
    assert code == 0, output
    out = tmp_path / "out.mkv"
    code, output = run_cli("upscale", damaged, "--out", out)
    assert code == 0, output
    with av.open(str(out)) as container:
        assert container.streams.video[1].metadata["title"] == "Side \ufffdamera"
