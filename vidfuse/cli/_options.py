"""Options that `upscale` and `batch` share, and how they become an :class:`UpscaleOptions`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vidfuse import colourisers, engines
from vidfuse.api import UpscaleOptions
from vidfuse.cli._app import flag, parse_fraction, parse_key_values, parse_offset, state
from vidfuse.dedup import MAX_REPEATS
from vidfuse.fusion import ADAPT_KEYFRAMES, DEFAULT_ADAPT_STEPS
from vidfuse.video.span import Span, parse_seconds
from vidfuse.video.writer import CODECS, GPU_CODECS, EncodeSettings

# Options shared by `upscale` and `batch`: declared once, used by both signatures.
COLOUR_PANEL = "Colour (fusion mode)"
Factor = Annotated[int, typer.Option(
    help="Frame-rate multiplier: 2, 4 or 8. Duration is unchanged.")]
Fps = Annotated[str | None, typer.Option(
    help="Target frame rate instead of --factor (e.g. 60, 29.97, 60000/1001; at most 1000).",
    show_default=False)]
Engine = Annotated[str, typer.Option(
    help=f"Interpolation engine: auto (= {engines.AUTO_ENGINE}), "
         + ", ".join(engines.available()) + ".")]
SceneThreshold = Annotated[float, typer.Option(
    help="Scene-cut sensitivity (lower = more cuts; 0 disables). Frames across a cut are "
         "repeated, not morphed.")]
Slowmo = Annotated[bool, flag(
    "--slowmo", help="Slow motion: keep the frame rate and play --factor times longer "
                     "(audio and subtitles are dropped).")]
Start = Annotated[str | None, typer.Option(
    help="Process from this time on (seconds, or [HH:]MM:SS[.ms]); the output starts there at "
         "0:00, audio in step. With --duration, preview a few seconds before a long run.",
    show_default=False)]
Duration = Annotated[str | None, typer.Option(
    help="Process only this long (seconds, or [HH:]MM:SS[.ms]).", show_default=False)]
Dedup = Annotated[bool, flag(
    "--dedup", help=f"Drop frames that repeat the one before (animation on twos or threes, "
                    f"24 fps film padded to 30) and interpolate across them, so motion no "
                    f"longer stutters. Holds longer than {MAX_REPEATS + 1} frames stay still.")]
Deinterlace = Annotated[bool, flag(
    "--deinterlace", help="Rebuild interlaced frames whole (bwdif) before interpolating, so "
                          "combing does not smear; progressive frames pass untouched.")]
DedupThreshold = Annotated[float, typer.Option(
    help="Largest change (8-bit levels of any 8x8 block's mean luma) that still counts as a "
         "repeat with --dedup; raise it for heavily compressed input.")]
Codec = Annotated[str | None, typer.Option(
    help=f"Video encoder: {', '.join(CODECS)} (lossless); on NVIDIA GPUs "
         f"{', '.join(GPU_CODECS)} (--crf sets their constant quality, -cq). Default: "
         "libvpx-vp9 for .webm, 10-bit libx265 for HDR input, else libx264.",
    show_default=False)]
Crf = Annotated[int | None, typer.Option(
    help="Constant-quality level (lower = better; codec default if unset).",
    show_default=False)]
Preset = Annotated[str | None, typer.Option(
    help="Encoder speed preset (x264 default: veryfast).", show_default=False)]
PixFmt = Annotated[str | None, typer.Option(
    help="Output pixel format (default: the input's depth and chroma resolution where the "
         "codec can, e.g. yuv420p, yuv422p10le; RGB input: 4:2:0). yuv420p plays everywhere.",
    show_default=False)]
EncoderOpt = Annotated[list[str] | None, typer.Option(
    metavar="KEY=VALUE", help="Extra encoder option key=value, repeatable (e.g. tune=film).",
    show_default=False)]
NoAudio = Annotated[bool, flag(
    "--no-audio", help="Drop audio, subtitles, attachments (fonts), cover art and "
                 "other video streams: keep the new video only.")]
KeyframeEvery = Annotated[int | None, typer.Option(
    help="Fusion, simulated from a colour video: keep the colour of every N-th frame, "
         "rebuild the rest from luma (research and evaluation).",
    rich_help_panel=COLOUR_PANEL, show_default=False)]
ColouriserName = Annotated[str, typer.Option(
    "--colouriser", help=f"Colouriser: auto (= {colourisers.AUTO_COLOURISER}), "
                         + ", ".join(colourisers.available()) + ".", rich_help_panel=COLOUR_PANEL)]
Adapt = Annotated[int | None, typer.Option(
    help=f"Fine-tune the learned colouriser for this many steps on the video's own first "
         f"{ADAPT_KEYFRAMES} keyframes before colouring (0 disables; default "
         f"{DEFAULT_ADAPT_STEPS} for ae). The gain on held-out keyframes is reported.",
    rich_help_panel=COLOUR_PANEL, show_default=False)]
Weights = Annotated[str | None, typer.Option(
    help="Weights for the learned engine: a name from `vidfuse weights list` (downloaded if "
         "missing and allowed) or a .safetensors file.", show_default=False)]
ColourWeights = Annotated[str | None, typer.Option(
    help="Weights for the learned colouriser, likewise.", rich_help_panel=COLOUR_PANEL,
    show_default=False)]
Device = Annotated[str, typer.Option(
    help="auto, cpu, cuda or cuda:N. A missing GPU is an error, not a CPU fallback.")]
Quiet = Annotated[bool, flag("--quiet", "-q", help="No progress bar or summary.")]
LONG_PANEL = "Long videos"
Segment = Annotated[float | None, typer.Option(
    metavar="SECONDS",
    help="Cut the video into segments of about this many seconds (at scene cuts or keyframes "
         "near each mark), kept until the output is complete so that an interrupted run "
         "resumes; 0: one pass. Default: 60 s segments for videos of 3 minutes or more.",
    rich_help_panel=LONG_PANEL, show_default=False)]


def upscale_options(input: Path, out: Path, *, fps: str | None, start: str | None,
                    duration: str | None, codec: str | None, crf: int | None,
                    preset: str | None, pix_fmt: str | None, encoder_opt: list[str] | None,
                    no_audio: bool, input_fps: str | None = None, reference_offset: str = "0",
                    **fields: Any) -> UpscaleOptions:
    """The command line's options as an :class:`UpscaleOptions`: those given as text are
    parsed here, the encoder's gathered into :class:`EncodeSettings`, and ``fields`` (named
    as UpscaleOptions names them) passed as they are."""
    return UpscaleOptions(
        input=input, output=out,
        fps=parse_fraction(fps, "--fps") if fps else None,
        image_fps=parse_fraction(input_fps, "--input-fps") if input_fps else None,
        span=Span(parse_seconds(start, "--start") if start else 0.0,
                  parse_seconds(duration, "--duration") if duration else None),
        encode=EncodeSettings(codec=codec, crf=crf, preset=preset, pix_fmt=pix_fmt,
                              encoder_options=parse_key_values(encoder_opt or []),
                              keep_audio=not no_audio, encoder_logs=state.debug),
        reference_offset=parse_offset(reference_offset), **fields)
