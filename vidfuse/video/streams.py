"""The input's other streams in the output: audio, subtitles, cover art and other video
copied packet for packet where the container holds their codec, audio re-encoded and text
subtitles converted where it does not, each with its language, title and dispositions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, cast

import av
from av.subtitles.codeccontext import SubtitleCodecContext
from av.subtitles.stream import SubtitleStream

from vidfuse.errors import OutputError, ffmpeg_reason
from vidfuse.video.media import Warn, descriptive_tags, is_cover

# Audio codecs (FFmpeg's names, as ffprobe prints them) each container stores as they are;
# anything else is re-encoded. Matroska holds every codec.
_PCM = {"pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_s24be", "pcm_s32le", "pcm_s32be",
        "pcm_f32le", "pcm_f32be", "pcm_f64le", "pcm_f64be", "pcm_u8", "pcm_alaw", "pcm_mulaw"}
_AUDIO_COPY = {
    "mp4": {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"},
    "mov": {"aac", "mp3", "alac", "ac3", "eac3", *_PCM},
    "webm": {"opus", "vorbis"},
}
_AUDIO_FALLBACK = {"mp4": "aac", "mov": "aac", "webm": "libopus", "matroska": "aac"}
# What a codec is called in a warning, where FFmpeg's name is not what users know.
_KNOWN_AS = {"aac": "AAC", "libopus": "Opus"}
# Subtitles: what each container holds as it is; text subtitles it does not hold are
# converted to its own text format, bitmap ones (DVD, Blu-ray) cannot be.
_SUBTITLE_COPY = {
    "mp4": {"mov_text"},
    "mov": {"mov_text"},
    "webm": {"webvtt"},
    "matroska": {"subrip", "ass", "ssa", "webvtt", "dvd_subtitle", "hdmv_pgs_subtitle",
                 "dvb_subtitle"},
}
# Video codecs each container takes as another video stream (angles, picture-in-picture),
# as its muxer writes and players read them (each copied in and decoded back). Matroska's
# muxer refuses raw video, which its codec check lets through.
_VIDEO_COPY = {
    "matroska": {"h264", "hevc", "av1", "vp8", "vp9", "mpeg4", "mpeg2video", "mjpeg", "ffv1",
                 "prores"},
    "mp4": {"h264", "hevc", "av1", "vp9", "mpeg4", "mpeg2video", "mjpeg"},
    "mov": {"h264", "hevc", "mpeg4", "mpeg2video", "mjpeg", "prores"},
    "webm": {"vp8", "vp9", "av1"},
}
# Cover pictures MP4's `covr` holds (its muxer refuses a GIF).
_COVER_COPY = {"mjpeg", "png"}
_TEXT_SUBTITLES = {"subrip", "srt", "ass", "ssa", "webvtt", "mov_text", "text"}
_SUBTITLE_TARGET = {"mp4": "mov_text", "mov": "mov_text", "webm": "webvtt", "matroska": "srt"}
# Dispositions a player acts on, carried with each copied stream, and those each muxer
# writes (read back from its files): the others are dropped with a warning.
_DISPOSITIONS = ("default", "forced", "hearing_impaired", "visual_impaired", "comment",
                 "original", "dub", "lyrics", "karaoke", "captions", "descriptions")
_DISPOSITIONS_KEPT = {
    "matroska": {"default", "forced", "hearing_impaired", "visual_impaired", "comment",
                 "original", "dub"},
    "mp4": {"default", "forced", "hearing_impaired", "visual_impaired", "comment", "dub"},
    "mov": {"default"},
    "webm": {"default", "forced"},
}


def route_streams(container: av.container.OutputContainer, fmt: str,
                  streams: list[av.stream.Stream], warn: Warn) -> dict[int, Route]:
    """How each of the input's audio, subtitle, cover-art and other video streams reaches an
    output of format ``fmt``, by input stream index: copied where the container holds its
    codec, else re-encoded (audio) or converted (text subtitles); cover art is copied into
    MP4 (Matroska attaches it instead). A stream that can be none of these is dropped. Each
    warning names the stream and what happened to it."""
    routes: dict[int, Route] = {}
    for source in streams:
        if source.codec_context is None:  # a codec FFmpeg does not know (or a damaged header)
            warn(f"dropping {source.type} stream #{source.index}: its codec is unknown to "
                 "FFmpeg (the file's header may be damaged)")
            continue
        name = source.codec_context.codec.canonical_name
        label = f"{source.type} stream #{source.index} ({name})"
        cover = is_cover(source)
        route: Route
        if cover and fmt != "mp4":
            warn(f"dropping the cover art ({label}): of the outputs here only MP4 and "
                 "Matroska keep it")
            continue
        if cover and name not in _COVER_COPY:
            warn(f"dropping the cover art ({label}): MP4 keeps only JPEG and PNG cover "
                 "art (.mkv keeps any)")
            continue
        if source.type == "video" and not cover and name not in _VIDEO_COPY[fmt]:
            hint = " (use .mkv)" if name in _VIDEO_COPY["matroska"] else ""
            warn(f"dropping {label}: only the main video is made, and {fmt} cannot hold "
                 f"this one as it is{hint}")
            continue
        if source.type == "video" or (source.type == "subtitle"
                                       and name in _SUBTITLE_COPY.get(fmt, set())):
            route = _Copy(container, source)
        elif source.type == "audio":
            allowed = _AUDIO_COPY.get(fmt)
            if allowed is None or name in allowed:
                route = _Copy(container, source)
            else:
                target = _AUDIO_FALLBACK[fmt]
                warn(f"re-encoding {label} to {_KNOWN_AS.get(target, target)}: {fmt} "
                     "cannot hold it")
                route = _AudioTranscoder(container, cast(av.AudioStream, source),
                                         target, label)
        elif name in _TEXT_SUBTITLES:
            target = _SUBTITLE_TARGET[fmt]
            warn(f"converting {label} to {target}, the text subtitles {fmt} holds "
                 "(styling is lost)")
            route = _SubtitleTranscoder(container, source, target, label)
        else:
            warn(f"dropping {label}: {fmt} cannot hold these picture subtitles, nor "
                 "can they become text (use .mkv)")
            continue
        flags = [name for name in _DISPOSITIONS
                 if source.disposition & av.stream.Disposition[name]]
        _carry_identity(source, route.stream, flags, fmt)
        if cover:
            route.stream.disposition |= av.stream.Disposition.attached_pic
        if lost := [name for name in flags if name not in _DISPOSITIONS_KEPT[fmt]]:
            warn(f"{fmt} cannot mark {label} as {', '.join(lost).replace('_', ' ')}: "
                 "players will not know (use .mkv)")
        routes[source.index] = route
    return routes


def _carry_identity(source: av.stream.Stream, target: av.stream.Stream,
                    dispositions: list[str], fmt: str) -> None:
    """What players show and pick a stream by: its language, title and dispositions.

    A track's title is "title" in Matroska but the track name ("name") in MP4 and MOV, where
    players show the handler name too: it is carried under each container's names."""
    tags = descriptive_tags(source.metadata)
    if "title" not in tags and "name" in tags:
        tags["title"] = tags.pop("name")
    if fmt in ("mp4", "mov") and "title" in tags:
        tags["handler_name"] = tags["title"]
    target.metadata.update(tags)
    flags = av.stream.Disposition(0)
    for name in dispositions:
        flags |= av.stream.Disposition[name]
    target.disposition = flags


class Route(Protocol):
    """How one input stream's packets reach the output: copied, or decoded and re-encoded."""

    @property
    def stream(self) -> av.stream.Stream: ...

    def send(self, packet: av.Packet) -> list[av.Packet]: ...

    def flush(self) -> list[av.Packet]: ...


class _Copy:
    """Packets stored as they are."""

    def __init__(self, container: av.container.OutputContainer,
                 source: av.stream.Stream) -> None:
        # ``opaque``: the codec parameters as they are, not an encoder looked up by the
        # decoder's name (AV1 is decoded by libdav1d, which has no encoder).
        self.stream = container.add_stream_from_template(source, opaque=True)

    def send(self, packet: av.Packet) -> list[av.Packet]:
        packet.stream = self.stream
        return [packet]

    def flush(self) -> list[av.Packet]:
        return []


# Channel layouts every fallback encoder opens with, by channel count; a source whose
# layout has no names ("2 channels", as PCM in AVI or Matroska often has) gets these too.
_LAYOUTS = {1: "mono", 2: "stereo", 3: "3.0", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


class _AudioTranscoder:
    """Re-encodes one audio stream for a container that cannot hold its codec: the encoder
    takes the decoder's channels and rate where it can, else the nearest it supports."""

    def __init__(self, container: av.container.OutputContainer, source: av.AudioStream,
                 codec: str, label: str) -> None:
        self._label = label
        decoder = source.codec_context
        encoder = av.codec.Codec(codec, "w")
        rate = _nearest_rate(decoder.sample_rate or 48000, encoder.audio_rates)
        channels = decoder.layout.nb_channels if decoder.layout else 2
        layout = _LAYOUTS[min(max(channels, 1), 8)]
        self.stream = cast(av.AudioStream, container.add_stream(codec, rate=rate))
        self.stream.layout = layout
        fmt = (encoder.audio_formats or [av.AudioFormat("fltp")])[0].name
        self._resampler = av.AudioResampler(format=fmt, layout=layout, rate=rate)
        self._failing(self.stream.codec_context.open)  # now: a refusal names this stream

    def _failing(self, call: Callable[[], list[av.Packet] | None]) -> list[av.Packet]:
        try:
            return call() or []
        except av.error.FFmpegError as exc:
            raise OutputError(f"cannot re-encode {self._label}: {ffmpeg_reason(exc)}") from exc

    def send(self, packet: av.Packet) -> list[av.Packet]:
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            # A damaged or partial packet (AVI audio often starts mid-frame) is skipped, as
            # ffmpeg does; decoding goes on from the next one.
            return []
        except av.error.FFmpegError as exc:
            raise OutputError(f"cannot decode {self._label}: {ffmpeg_reason(exc)}") from exc
        return self._failing(lambda: [packet for frame in frames
                                      for resampled in self._resampler.resample(
                                          cast(av.AudioFrame, frame))
                                      for packet in self.stream.encode(resampled)])

    def flush(self) -> list[av.Packet]:
        return self._failing(lambda: [*(packet for resampled in self._resampler.resample(None)
                                        for packet in self.stream.encode(resampled)),
                                      *self.stream.encode(None)])


def _nearest_rate(rate: int, supported: list[int] | None) -> int:
    """``rate`` if the encoder takes it, else the lowest it takes above it (never lose
    bandwidth), else its highest (192 kHz to AAC: 96 kHz)."""
    if not supported or rate in supported:
        return rate
    return min((r for r in supported if r > rate), default=max(supported))


class _SubtitleTranscoder:
    """Converts one text subtitle stream to the container's own text format (the words and
    their timing survive; fonts, colours and positions do not)."""

    def __init__(self, container: av.container.OutputContainer, source: av.stream.Stream,
                 codec: str, label: str) -> None:
        self._label = label
        self._decoder = cast(SubtitleCodecContext, source.codec_context)
        if not self._decoder.is_open:
            self._decoder.open()  # text decoders make their style header as they open
        self.stream = cast(SubtitleStream, container.add_stream(codec))
        self.stream.time_base = source.time_base
        self.stream.codec_context.subtitle_header = self._decoder.subtitle_header

    def send(self, packet: av.Packet) -> list[av.Packet]:
        try:
            subtitle = self._decoder.decode2(packet)
            if subtitle is None:
                return []
            out = self.stream.codec_context.encode_subtitle(subtitle)
        except av.error.FFmpegError as exc:
            raise OutputError(f"cannot convert {self._label}: {ffmpeg_reason(exc)}") from exc
        out.stream = self.stream
        out.pts, out.dts, out.duration = packet.pts, packet.dts, packet.duration
        return [out]

    def flush(self) -> list[av.Packet]:
        return []
