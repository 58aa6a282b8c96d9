"""Joining segments: their video packets copied, not re-encoded, into one output with the
input's audio, subtitles, chapters, attachments and tags, as a single pass writes them.

The output is set up exactly as a single pass sets it up (the same sink, the same encoder
opened for its stream header); only the video packets come from the segment files instead
of the encoder. The cost grows with the bytes copied, not with the frames.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from pathlib import Path

import av

from vidfuse.errors import OutputError, ffmpeg_reason
from vidfuse.video.reader import VideoFileSource
from vidfuse.video.writer import VideoFileSink


def join_segments(sink: VideoFileSink, segments: Sequence[Path],
                  source: VideoFileSource | None) -> None:
    """Copy every segment's video, then ``source``'s audio and subtitle packets (None: no
    such streams wanted), interleaved by time, into ``sink``; then close it."""
    with av.open(str(segments[0])) as first:
        sink.use_stream_header(first.streams.video[0].codec_context.extradata)
    video = ((_seconds(packet), 0, packet) for packet in _video_packets(segments))
    copied = ((_seconds(packet), 1, packet) for packet in
              (source.copied_packets() if source is not None else ()))
    for _, kind, packet in heapq.merge(video, copied, key=lambda item: item[:2]):
        if kind == 0:
            sink.copy_video(packet)
        else:
            sink.packet(packet)
    sink.close()


def _video_packets(segments: Sequence[Path]) -> Iterator[av.Packet]:
    for path in segments:
        try:
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                for packet in container.demux(stream):
                    if packet.size == 0:
                        continue  # the demuxer's end-of-stream marker
                    if packet.dts is None:
                        packet.dts = packet.pts  # Matroska stores none; FFV1 is intra-only
                    yield packet
        except av.error.FFmpegError as exc:
            raise OutputError(f"cannot read segment {path.name}: {ffmpeg_reason(exc)}") from exc


def _seconds(packet: av.Packet) -> float:
    stamp = packet.dts if packet.dts is not None else packet.pts
    if stamp is None or packet.time_base is None:
        return 0.0
    return float(stamp * packet.time_base)
