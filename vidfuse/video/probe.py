"""`vidfuse info`: what is inside a media file, read without decoding every frame."""

from __future__ import annotations

import itertools
import os
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import av

from vidfuse.errors import InputError
from vidfuse.video.colour import ColourInfo
from vidfuse.video.hdr import HdrMetadata
from vidfuse.video.media import Chapter
from vidfuse.video.reader import main_video_stream, open_input, open_source

# Frame intervals differing from the median by more than this fraction mark the stream as VFR.
_VFR_TOLERANCE = 0.02


@dataclass
class StreamSummary:
    """One stream of the container, in a line."""

    index: int
    kind: str
    codec: str
    detail: str


@dataclass
class MediaInfo:
    """The facts `vidfuse info` prints, also useful to scripts."""

    path: Path
    container: str
    width: int
    height: int
    pix_fmt: str
    codec: str
    average_fps: float
    variable_frame_rate: bool
    frame_count: int
    duration: float
    colour: ColourInfo
    rotation: int
    streams: list[StreamSummary] = field(default_factory=list)
    pixel_aspect: Fraction = Fraction(1)
    interlaced: bool = False
    chapters: list[Chapter] = field(default_factory=list)
    transparent: bool = False
    hdr: HdrMetadata | None = None

    @property
    def display_aspect(self) -> float:
        """Width over height as shown, after players stretch anamorphic pixels."""
        return self.width * float(self.pixel_aspect) / self.height

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-ready facts (`vidfuse info --json`)."""
        facts = asdict(self)
        facts.update(path=str(self.path), pixel_aspect=str(self.pixel_aspect),
                     display_aspect=round(self.display_aspect, 4),
                     hdr=self.hdr.as_dict() if self.hdr else None)
        return facts

    @property
    def audio_streams(self) -> list[StreamSummary]:
        return [s for s in self.streams if s.kind == "audio"]


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Inspect a video file (or image directory); counts frames by reading packets only."""
    path = Path(path)
    with open_source(path) as source:
        info = source.info
        if path.is_dir():
            return MediaInfo(path, "image sequence", info.width, info.height,
                             info.decoded_pix_fmt, "images", float(info.frame_rate), False,
                             info.frame_count or 0, info.duration or 0.0, info.colour, 0,
                             transparent=info.transparent)
    try:
        with open_input(path) as container:
            video = main_video_stream(container)
            assert video is not None  # open_source above found one
            summaries = [_summarise(s) for s in container.streams]
            ticks = sorted(p.pts for p in container.demux(video) if p.pts is not None)
            tick = Fraction(video.time_base or 1)
    except av.error.FFmpegError as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    times = [float(t * tick) for t in ticks]
    gaps = sorted(b - a for a, b in itertools.pairwise(ticks))
    median = gaps[len(gaps) // 2] if gaps else 0
    # Containers round times to their time base (Matroska: whole milliseconds), so one tick
    # of jitter is rounding, not a varying rate.
    slack = max(_VFR_TOLERANCE * median, 1)
    vfr = bool(median) and any(abs(g - median) > slack for g in gaps)
    mean_gap = (times[-1] - times[0]) / len(gaps) if gaps else 0.0
    duration = (times[-1] - times[0] + mean_gap) if times else 0.0
    average = (len(times) / duration) if duration else float(info.frame_rate)
    if not vfr and abs(average - float(info.frame_rate)) <= _VFR_TOLERANCE * average:
        average = float(info.frame_rate)  # the declared rate, not its rounded measurement
    return MediaInfo(
        path=path,
        container=container.format.long_name,
        width=info.width,
        height=info.height,
        pix_fmt=info.decoded_pix_fmt,
        codec=video.codec_context.name,
        average_fps=average,
        variable_frame_rate=vfr,
        frame_count=len(times),
        duration=duration,
        colour=info.colour,
        rotation=info.rotation,
        streams=summaries,
        pixel_aspect=info.pixel_aspect,
        interlaced=info.interlaced,
        chapters=info.chapters,
        transparent=info.transparent,
        hdr=info.hdr,
    )


def _summarise(stream: av.stream.Stream) -> StreamSummary:
    ctx = stream.codec_context
    if ctx is None:  # a codec FFmpeg does not know (or a damaged header)
        detail = "unknown codec"
    elif isinstance(stream, av.VideoStream):
        rate = Fraction(stream.average_rate or 0)
        detail = (f"{stream.codec_context.width}x{stream.codec_context.height} "
                  f"{stream.codec_context.pix_fmt or ''} {float(rate):.3f} fps")
    elif isinstance(stream, av.AudioStream):
        audio = stream.codec_context
        layout = audio.layout.name if audio.layout else "?"
        detail = f"{audio.sample_rate} Hz {layout}"
        if stream.duration and stream.time_base:
            detail += f", {float(stream.duration * stream.time_base):.2f} s"
    else:
        detail = ""
    labels = [stream.metadata.get("language", ""),
              *(name.replace("_", " ") for name in ("default", "forced", "hearing_impaired",
                                                   "comment")
                if stream.disposition & av.stream.Disposition[name])]
    if stream.type != "video" and any(labels):
        detail = ", ".join(filter(None, [detail, *labels]))
    codec = ctx.codec.canonical_name if ctx else "?"
    return StreamSummary(stream.index, stream.type, codec, detail.strip())
