"""The facts about an input that the rest of vidfuse shares (what it is, what it carries),
and the two contracts of video I/O: a :class:`Source` gives pictures, a :class:`Sink` takes
them. Readers and writers meet here, not in each other."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import av

from vidfuse.picture import Picture
from vidfuse.video.colour import ColourInfo, WorkingFormat
from vidfuse.video.hdr import HdrMetadata

PacketSink = Callable[[av.Packet], None]
# How a stage says what it changed or dropped: one line, for the user.
Warn = Callable[[str], None]


# Stream tags that describe the old encoding (or that each muxer writes itself), not the
# content; Matroska adds them per language too ("DURATION-eng").
_TECHNICAL_STREAM_TAGS = {"duration", "handler_name", "vendor_id", "encoder", "bps",
                          "number_of_frames", "number_of_bytes", "_statistics_tags",
                          "_statistics_writing_app", "_statistics_writing_date_utc",
                          "alpha_mode"}

@dataclass(frozen=True)
class Attachment:
    """A file inside the container, copied whole (Matroska writes them into its header)."""

    name: str
    mimetype: str
    data: bytes
    # The input's cover-art stream this is the picture of: Matroska keeps cover art as an
    # attachment, MP4 as the stream itself.
    cover_of: int | None = None


@dataclass(frozen=True)
class Chapter:
    """A named part of the timeline (seconds on the video's clock), as players list them."""

    start: float
    end: float
    metadata: dict[str, str]

    def moved(self, to: Callable[[float], float]) -> Chapter:
        """The same part of a retimed video: ``to`` maps an input instant to the output's."""
        return Chapter(to(self.start), to(self.end), self.metadata)


@dataclass
class SourceInfo:
    """What the rest of the pipeline needs to know about an input before frames flow."""

    path: Path
    width: int
    height: int
    frame_rate: Fraction
    frame_count: int | None
    duration: float | None
    colour: ColourInfo
    working: WorkingFormat
    decoded_pix_fmt: str
    time_base: Fraction
    start_time: float = 0.0
    # Where the file's clock starts (its earliest stream): the output's clock starts there,
    # as ffmpeg's does, so a recording that starts late gains no empty lead-in.
    clock_start: float = 0.0
    rotation: int = 0
    # Some pixel of the first frame is not opaque: pictures then carry their opacity.
    transparent: bool = False
    hdr: HdrMetadata | None = None  # static and dynamic HDR metadata of the first frame
    # An embedded ICC colour profile, which no output here carries: colours are taken as
    # the tags (or sRGB) say.
    icc_profile: bool = False
    # Width:height of one stored pixel (anamorphic video is not 1); players stretch by it.
    pixel_aspect: Fraction = Fraction(1)
    interlaced: bool = False
    # Descriptive tags to carry over (title, date, ...), of the file and of its video stream.
    tags: dict[str, str] = field(default_factory=dict)
    video_tags: dict[str, str] = field(default_factory=dict)
    # Files carried inside the container (fonts for styled subtitles) and cover pictures.
    attachments: list[Attachment] = field(default_factory=list)
    chapters: list[Chapter] = field(default_factory=list)
    # Streams whose packets are copied (or converted): audio, subtitles, cover art, other
    # video (angles).
    passthrough: list[av.stream.Stream] = field(default_factory=list)


def is_cover(stream: av.stream.Stream) -> bool:
    """Cover art: a still picture stored as a video stream (MP4's `covr`, a Matroska
    cover.jpg attachment as FFmpeg lists it)."""
    return stream.type == "video" and bool(stream.disposition
                                           & av.stream.Disposition.attached_pic)


def counted(streams: list[av.stream.Stream]) -> str:
    """What a warning calls the streams it drops: "2 audio streams and the cover art"."""
    counts: dict[str, int] = {}
    for stream in streams:
        kind = ("cover art" if is_cover(stream)
                else "other video stream" if stream.type == "video" else f"{stream.type} stream")
        counts[kind] = counts.get(kind, 0) + 1
    parts = [f"the {kind}" if kind == "cover art" else f"{count} {kind}{'s' * (count > 1)}"
             for kind, count in counts.items()]
    return " and ".join(filter(None, [", ".join(parts[:-1]), parts[-1]])) if parts else ""


def descriptive_tags(metadata: dict[str, str]) -> dict[str, str]:
    """A stream's tags that describe its content (language, title, ...), to carry over."""
    return {k: v for k, v in metadata.items()
            if k.lower().split("-")[0] not in _TECHNICAL_STREAM_TAGS}



class Source(Protocol):
    """Where pictures come from: a video file, a pipe or a folder of images. It has read
    its first frame (``info`` is known) before any output is created."""

    info: SourceInfo
    damaged: int  # video packets that could not be decoded, skipped

    def pictures(self) -> Iterator[Picture]: ...

    def ends_early(self) -> float | None:
        """Once read: where the frames stopped (seconds from the first) when that is well
        short of the length the file declares (truncated), else None."""
        ...

    def route_packets(self, sink: PacketSink) -> None: ...

    def close(self) -> None: ...


class Sink(Protocol):
    """Where pictures go, in order: a video file (with the input's other streams, as their
    packets arrive) or numbered PNG frames. Nothing is usable until :meth:`close`."""

    def write(self, picture: Picture) -> None: ...

    def packet(self, packet: av.Packet) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...
