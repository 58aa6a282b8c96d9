"""An evaluation as a page to look at: the summary table, every method's PSNR frame by frame,
and the worst frames side by side (truth, vidfuse, the best other method, and where each is
wrong). The page and its images sit in one folder and load nothing from elsewhere.

Plots need matplotlib, an optional extra (``pip install 'vidfuse[report]'``). Pictures are
the evaluation's own frames, converted to RGB with the clip's colour tags.
"""

from __future__ import annotations

import html
from pathlib import Path

import cv2
import numpy as np

from vidfuse.compare import heat_map, labelled
from vidfuse.errors import OutputError, UsageError
from vidfuse.evaluate import EvalReport, Score
from vidfuse.video.colour import picture_to_rgb

CROP = 256  # the most pixels across (and down) a worst-frame picture shows
_SECTIONS = {"time": "Interpolation", "colour": "Colour from keyframes"}


def write_report(report: EvalReport, folder: Path, worst: int = 6) -> Path:
    """``folder``/index.html and its images; returns the page. ``report`` must have been made
    with ``keep_frames`` (its rebuilt frames are what the pictures show)."""
    if not report.rebuilt or report.clip_info is None:
        raise UsageError("the report needs the rebuilt frames: evaluate with keep_frames")
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display is needed or wanted
        from matplotlib import pyplot
    except ImportError:
        raise UsageError("--report draws its plots with matplotlib: pip install "
                         "'vidfuse[report]'") from None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {folder}: {exc.strerror}") from None
    ours = {"time": report.engine, "colour": report.colouriser}
    parts = [f"<h1>{html.escape(Path(report.clip).name)}</h1>",
             f"<p>First {report.frames} frames; colour kept on 1 frame in "
             f"{report.keyframe_every}, frame rate from 1 frame in {report.factor}. "
             f"Fusion (the whole pipeline): {report.fusion.psnr:.2f} dB.</p>"]
    for section, title in _SECTIONS.items():
        scores = {n: s for n, s in getattr(report, section).items() if n != "truth"}
        plot = f"{section}-psnr.png"
        figure, axes = pyplot.subplots(figsize=(9, 3.2), dpi=100)
        for name, score in scores.items():
            axes.plot(score.frames, label=name, linewidth=2.5 if name == ours[section] else 1)
        axes.set_xlabel("rebuilt frame")
        axes.set_ylabel("RGB PSNR (dB)")
        axes.legend(fontsize="small", ncol=3)
        figure.tight_layout()
        figure.savefig(folder / plot)
        pyplot.close(figure)
        parts += [f"<h2>{title}</h2>", _table(scores), f'<img src="{plot}" alt="per-frame '
                  f'PSNR of every method ({section})">']
        parts += _worst_frames(report, section, ours[section], scores, folder, worst)
    page = folder / "index.html"
    page.write_text(_PAGE.format(title=html.escape(Path(report.clip).name),
                                 body="\n".join(parts)))
    return page


def report_clip(path: Path, folder: Path, frames: int = 97, keyframe_every: int = 8,
                factor: int = 2, worst: int = 6, device: str = "cpu") -> Path:
    """Evaluate a colour clip as `vidfuse eval` does and write its report into ``folder``
    (what the benchmark scripts' ``--report`` runs per clip)."""
    from vidfuse.evaluate import evaluate

    report = evaluate(path, keyframe_every, factor, frames, device=device, keep_frames=True)
    return write_report(report, folder, worst)


def _table(scores: dict[str, Score]) -> str:
    rows = "".join(f"<tr><td>{html.escape(n)}</td><td>{s.psnr:.2f}</td><td>{s.ssim:.4f}</td>"
                   f"<td>{'' if s.stability is None else f'{s.stability:.3f}'}</td></tr>"
                   for n, s in scores.items())
    return ("<table><tr><th>method</th><th>PSNR dB</th><th>SSIM</th><th>stability</th></tr>"
            f"{rows}</table>")


def _worst_frames(report: EvalReport, section: str, ours: str, scores: dict[str, Score],
                  folder: Path, count: int) -> list[str]:
    """The ``count`` frames ``ours`` rebuilt worst, each as truth | ours | the best other
    method there | the two error maps, cropped around where ours is most wrong."""
    if ours not in scores or count < 1:
        return []
    info = report.clip_info
    assert info is not None
    frames = report.rebuilt[section]

    def rgb(name: str, index: int) -> np.ndarray:
        picture = frames[name][index]
        return picture_to_rgb(picture, info.working, info.colour)

    others = [n for n in scores if n != ours]
    parts = [f"<h3>The {count} frames {html.escape(ours)} rebuilt worst</h3>"]
    for index in sorted(range(len(scores[ours].frames)), key=lambda i: scores[ours].frames[i])[
            :count]:
        best = max(others, key=lambda n: scores[n].frames[index]) if others else ours
        truth, made, rival = rgb("truth", index), rgb(ours, index), rgb(best, index)
        window = _window(truth, made)
        strip = np.concatenate([labelled(image[window], label) for image, label in (
            (truth, "truth"), (made, ours), (rival, best),
            (heat_map(made, truth), f"error: {ours}"),
            (heat_map(rival, truth), f"error: {best}"))], axis=1)
        name = f"{section}-worst-{index:04d}.png"
        cv2.imwrite(str(folder / name), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
        parts.append(f'<figure><img src="{name}" alt="frame {index}"><figcaption>rebuilt '
                     f"frame {index}: {html.escape(ours)} {scores[ours].frames[index]:.2f} dB, "
                     f"{html.escape(best)} {scores[best].frames[index]:.2f} dB</figcaption>"
                     "</figure>")
    return parts


def _window(truth: np.ndarray, made: np.ndarray) -> tuple[slice, slice]:
    """A CROP-sized window centred on the worst error (the whole frame if smaller)."""
    height, width = truth.shape[:2]
    error = cv2.blur(cv2.absdiff(truth, made).max(axis=2).astype(np.float32), (15, 15))
    y, x = np.unravel_index(int(np.argmax(error)), error.shape)
    size_y, size_x = min(CROP, height), min(CROP, width)
    top = int(np.clip(y - size_y // 2, 0, height - size_y))
    left = int(np.clip(x - size_x // 2, 0, width - size_x))
    return slice(top, top + size_y), slice(left, left + size_x)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>vidfuse eval: {title}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; background: #fff; color: #111; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
img {{ max-width: 100%; image-rendering: pixelated; }}
figure {{ margin: 1em 0; }}
</style></head>
<body>
{body}
</body></html>
"""
