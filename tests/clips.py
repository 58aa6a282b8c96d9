"""Small real videos made on the fly with PyAV: moving textures, with audio when asked.

Set ``VIDFUSE_TESTDATA_DIR`` to keep the generated clips in one place between runs (like
PyAV's PYAV_TESTDATA_DIR); by default each test writes into its own temporary directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth random RGB texture (blurred noise plus gradients) bigger than the frame."""
    import cv2

    rng = np.random.default_rng(seed)
    noise = rng.random((height + 64, width + 64, 3)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 3.0)
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return (smooth * 220 + 16).astype(np.uint8)


# Muxer options for a file that is the same byte for byte every run (no random segment ID
# or date): what a seeded fuzz test mutates.
BITEXACT = {"fflags": "+bitexact"}


def moving_frames(count: int, height: int, width: int, seed: int = 0,
                  step: tuple[int, int] = (2, 1)) -> list[np.ndarray]:
    """RGB frames of one texture sliding by ``step`` pixels per frame (wrapping)."""
    base = texture(height, width, seed)
    frames = []
    for i in range(count):
        dx, dy = (i * step[0]) % 64, (i * step[1]) % 64
        frames.append(np.ascontiguousarray(base[dy:dy + height, dx:dx + width]))
    return frames


def write_clip(path: Path, frames: Sequence[np.ndarray], rate: Fraction = Fraction(25),
               codec: str = "ffv1", pix_fmt: str = "yuv444p", audio_seconds: float = 0.0,
               pts: Sequence[int] | None = None, time_base: Fraction | None = None,
               full_range: bool = False, matrix: int = 1, rotation: int = 0,
               transfer: int = 1, pixel_aspect: Fraction | None = None,
               gop: int | None = None,
               chapters: Sequence[tuple[float, float, str]] = ()) -> Path:
    """Encode RGB frames (BT.709 by default) into ``path``; optionally a sine-tone AAC track."""
    from av.video.reformatter import ColorRange, Colorspace

    time_base = time_base or 1 / rate
    swscale_matrix = {1: Colorspace.ITU709, 5: Colorspace.ITU601, 6: Colorspace.ITU601}[matrix]
    swscale_range = ColorRange.JPEG if full_range else ColorRange.MPEG
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = pix_fmt
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        ctx = stream.codec_context
        ctx.colorspace = matrix
        ctx.color_range = int(swscale_range)
        ctx.color_primaries = 1
        ctx.color_trc = transfer
        if rotation:
            stream.set_display_rotation(rotation)
        if pixel_aspect:
            ctx.sample_aspect_ratio = pixel_aspect
        if gop:
            ctx.gop_size = gop
        container.set_chapters([
            {"id": number, "start": round(start * 1000), "end": round(end * 1000),
             "time_base": Fraction(1, 1000), "metadata": {"title": title}}
            for number, (start, end, title) in enumerate(chapters, 1)])
        audio = None
        if audio_seconds:
            audio = container.add_stream("aac", rate=48000)
            audio.layout = "stereo"
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24" if rgb.dtype == np.uint8
                                               else "rgb48le")
            frame = frame.reformat(format=pix_fmt, dst_colorspace=swscale_matrix,
                                   dst_color_range=swscale_range)
            frame.colorspace = matrix
            frame.color_range = int(swscale_range)
            frame.pts = pts[index] if pts is not None else index
            frame.time_base = time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if audio is not None:
            _write_tone(container, audio, audio_seconds)
    return path


def _write_tone(container: av.container.OutputContainer, stream: av.AudioStream,
                seconds: float) -> None:
    samples = int(seconds * 48000)
    t = np.arange(samples) / 48000
    tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    for start in range(0, samples, 1024):
        chunk = tone[start:start + 1024]
        data = np.stack([chunk, chunk])
        frame = av.AudioFrame.from_ndarray(data, format="fltp", layout="stereo")
        frame.sample_rate = 48000
        frame.pts = start
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def write_interlaced(path: Path, count: int, gop: int | None = None) -> Path:
    """Top field first H.264 whose two fields show different instants (as a camera records
    them): the even lines from one picture of a gliding texture, the odd ones from the next."""
    pictures = moving_frames(2 * count, 64, 96, step=(6, 0))
    options = {"x264-params": "tff=1", "qp": "0", **({"g": str(gop)} if gop else {})}
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25, options=options)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for index in range(count):
            woven = pictures[2 * index].copy()
            woven[1::2] = pictures[2 * index + 1][1::2]
            frame = av.VideoFrame.from_ndarray(woven, format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def read_frames(path: Path, pix_fmt: str = "rgb24") -> list[np.ndarray]:
    """Decode every frame to RGB, honouring the stream's own matrix and range."""
    from vidfuse.video.colour import colour_of

    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            colour = colour_of(frame)
            frames.append(frame.reformat(
                format=pix_fmt, src_colorspace=colour.swscale_matrix(frame.height),
                src_color_range=colour.swscale_range).to_ndarray())
    return frames


def frame_times(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [float(f.time) for f in container.decode(video=0)]


@dataclass(frozen=True)
class Track:
    """An audio track (a 1 s tone) or a text subtitle track, with how players label it."""

    codec: str  # an audio encoder, or "subrip" / "mov_text" for subtitles
    rate: int = 48000
    layout: str = "stereo"
    language: str | None = None
    title: str | None = None
    disposition: str = ""  # names joined by "|", as av.stream.Disposition spells them
    lines: tuple[str, ...] = ("Hallo Welt", "Zweite Zeile")  # subtitles, one a second

    @property
    def is_subtitle(self) -> bool:
        return self.codec in ("subrip", "mov_text", "webvtt")


def write_tracks(path: Path, tracks: Sequence[Track], frames: int = 25,
                 video_codec: str = "ffv1", pix_fmt: str = "yuv444p") -> Path:
    """A clip of ``frames`` moving frames at 25 fps followed by ``tracks``."""
    with av.open(str(path), "w") as container:
        video = container.add_stream(video_codec, rate=25)
        video.height, video.width = 64, 96
        video.pix_fmt = pix_fmt
        streams = []
        for track in tracks:
            # Subtitle packets are muxed as they are: no encoder needed for a text format.
            stream = (container.add_mux_stream(track.codec) if track.is_subtitle
                      else container.add_stream(track.codec, rate=track.rate))
            if track.is_subtitle:
                stream.time_base = Fraction(1, 1000)
            else:
                stream.layout = track.layout
            for key, value in (("language", track.language), ("title", track.title)):
                if value:
                    stream.metadata[key] = value
            flags = av.stream.Disposition(0)
            for name in filter(None, track.disposition.split("|")):
                flags |= av.stream.Disposition[name]
            stream.disposition = flags
            streams.append(stream)
        for index, rgb in enumerate(moving_frames(frames, 64, 96)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt)
            frame.pts = index
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        for track, stream in zip(tracks, streams, strict=True):
            if track.is_subtitle:
                _write_lines(container, stream, track)
            else:
                _write_audio(container, stream, track, frames / 25)
    return path


def _write_lines(container: av.container.OutputContainer, stream: av.stream.Stream,
                 track: Track) -> None:
    for second, line in enumerate(track.lines):
        text = line.encode()
        if track.codec == "mov_text":  # a 16-bit length, then the text
            text = len(text).to_bytes(2, "big") + text
        packet = av.Packet(text)
        packet.stream = stream
        packet.pts = packet.dts = 100 + 1000 * second
        packet.duration = 600
        container.mux(packet)


def _write_audio(container: av.container.OutputContainer, stream: av.AudioStream,
                 track: Track, seconds: float) -> None:
    """A 440 Hz tone in every channel, in the encoder's own sample format."""
    fmt = (stream.codec_context.codec.audio_formats or [av.AudioFormat("s16")])[0]
    channels = av.AudioLayout(track.layout).nb_channels
    chunk = 1024
    for start in range(0, int(seconds * track.rate), chunk):
        t = (start + np.arange(chunk)) / track.rate
        tone = 0.2 * np.sin(2 * np.pi * 440 * t)
        planes = np.repeat(tone[None], channels, axis=0)
        data = planes if fmt.is_planar else planes.T.reshape(1, -1)
        kind = np.dtype({"s16": np.int16, "s32": np.int32, "flt": np.float32,
                         "dbl": np.float64, "u8": np.uint8, "s64": np.int64}[fmt.packed.name])
        if kind.kind in "iu":
            data = data * (np.iinfo(kind).max * 0.9)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data.astype(kind)),
                                           format=fmt.name, layout=track.layout)
        frame.sample_rate = track.rate
        frame.pts = start
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def audio_seconds(path: Path, index: int) -> float:
    """How long stream ``index``'s decoded audio plays."""
    with av.open(str(path)) as container:
        stream = container.streams[index]
        samples = sum(frame.samples for frame in container.decode(stream))
        return samples / stream.codec_context.sample_rate


def write_started_at(path: Path, start: float, audio_start: float | None = None,
                     frames: int = 50) -> Path:
    """H.264 video (with B-frames) and AAC audio whose clocks start at ``start`` and
    ``audio_start`` (``start`` too by default) seconds: late, as a recording cut from a
    broadcast is (MPEG-TS by the suffix, or any other container), or before 0, as Matroska
    files cut at a keyframe may be (their video packets before 0 then have no timestamps)."""
    audio_start = start if audio_start is None else audio_start
    with av.open(str(path), "w", options={"avoid_negative_ts": "disabled"}) as container:
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 96, 64, "yuv420p"
        audio = container.add_stream("aac", rate=48000)
        audio.layout = "stereo"
        for index, rgb in enumerate(moving_frames(frames, 64, 96)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = round(start * 25) + index, Fraction(1, 25)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        samples = frames * 48000 // 25
        tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(samples) / 48000)).astype(np.float32)
        for first in range(0, samples - 1023, 1024):
            chunk = tone[first:first + 1024]
            sound = av.AudioFrame.from_ndarray(np.stack([chunk, chunk]), format="fltp",
                                               layout="stereo")
            sound.sample_rate = 48000
            sound.pts, sound.time_base = round(audio_start * 48000) + first, Fraction(1, 48000)
            container.mux(audio.encode(sound))
        container.mux(audio.encode(None))
    return path


def cover_jpeg(codec: str = "mjpeg") -> bytes:
    """A small JPEG (or a picture in another image ``codec``: "gif"), as cover art is."""
    picture = av.VideoFrame.from_ndarray(moving_frames(1, 32, 48, seed=3)[0], format="rgb24")
    pix_fmt = {"mjpeg": "yuvj420p", "gif": "rgb8"}[codec]
    image = av.CodecContext.create(codec, "w")
    image.width, image.height, image.pix_fmt = 48, 32, pix_fmt
    image.time_base = Fraction(1, 25)
    return bytes(image.encode(picture.reformat(format=pix_fmt))[0])


def write_with_cover(path: Path, gif: bool = False) -> bytes:
    """A clip with cover art as its container stores it (MP4's `covr` atom, a Matroska
    attachment named cover.jpg, or cover.gif with ``gif``); the picture's bytes."""
    data = cover_jpeg("gif" if gif else "mjpeg")
    with av.open(str(path), "w") as container:
        main = container.add_stream("libx264", rate=25)
        main.width, main.height, main.pix_fmt = 48, 32, "yuv420p"
        if path.suffix == ".mkv":
            container.add_attachment(*(("cover.gif", "image/gif") if gif
                                       else ("cover.jpg", "image/jpeg")), data)
        else:
            cover = container.add_stream("mjpeg", rate=25)
            cover.width, cover.height, cover.pix_fmt = 48, 32, "yuvj420p"
            cover.disposition = av.stream.Disposition.attached_pic
            packet = av.Packet(data)
            packet.stream, packet.pts, packet.dts = cover, 0, 0
            container.mux(packet)
        for index, rgb in enumerate(moving_frames(6, 32, 48)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            frame.pts = index
            container.mux(main.encode(frame))
        container.mux(main.encode(None))
    return data


def write_with_angle(path: Path, codec: str, frames: int = 30,
                     cover: bytes | None = None) -> list[bytes]:
    """A clip with a second video (another angle) besides the main one, both 25 fps with a
    keyframe every 10 frames, and a ``cover`` picture attached as cover.jpg (Matroska); the
    angle's packets."""
    with av.open(str(path), "w", options=BITEXACT) as container:
        if cover is not None:
            container.add_attachment("cover.jpg", "image/jpeg", cover)
        main = container.add_stream("libx264", rate=25, options={"g": "10"})
        angle = container.add_stream(codec, rate=25, options={"g": "10"})
        for stream in (main, angle):
            stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv420p"
        angle.metadata["title"] = "Side camera"
        for index, (rgb, other) in enumerate(zip(moving_frames(frames, 32, 48),
                                                 moving_frames(frames, 32, 48, seed=5),
                                                 strict=True)):
            for stream, picture in ((main, rgb), (angle, other)):
                frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(
                    format="yuv420p")
                frame.pts = index
                container.mux(stream.encode(frame))
        for stream in (main, angle):
            container.mux(stream.encode(None))
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.video[1]) if p.size]
