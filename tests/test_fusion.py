"""Fusion mode: a grey video plus sparse colour (reference video, keyframe images, or its own
colour every N frames) becomes a colour video at twice the frame rate."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
from clips import moving_frames, texture, write_clip
from test_cli import assert_one_line_error, run_cli

from vidfuse.colourisers import build_colouriser
from vidfuse.fusion import MAX_GAP, FusionCounts, colourise_stream, steadied
from vidfuse.keyframes import EveryNthKeyframe, ReferenceKeyframes
from vidfuse.metrics import psnr
from vidfuse.picture import Picture
from vidfuse.scene import SceneCutDetector
from vidfuse.sync import find_offset
from vidfuse.video.colour import picture_to_frame, to_rgb
from vidfuse.video.reader import VideoFileSource

FRAMES = 20


def grey_of(rgb: np.ndarray) -> np.ndarray:
    """R = G = B = BT.709 luma: the same Y plane as the colour frame once encoded."""
    luma = (rgb.astype(np.float32) @ np.array([0.2126, 0.7152, 0.0722], np.float32))
    return np.repeat(np.clip(luma + 0.5, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def decoded(path: Path) -> tuple[list[Picture], list[np.ndarray]]:
    """Pictures (planes) and RGB of every frame."""
    with VideoFileSource(path) as source:
        info = source.info
        pictures = list(source.pictures())
        rgb = [to_rgb(picture_to_frame(p, info.working, info.colour), info.colour, 8)
               for p in pictures]
    return pictures, rgb


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("fusion")
    truth = moving_frames(FRAMES, 64, 96, step=(2, 1))
    return {
        "root": root,
        "truth": truth,
        "colour": write_clip(root / "colour.mkv", truth),
        "grey": write_clip(root / "grey.mkv", [grey_of(f) for f in truth]),
    }


def _chroma_psnr(out: list[np.ndarray], truth: list[np.ndarray], frames: range) -> float:
    return float(np.mean([psnr(truth[i], out[2 * i]) for i in frames]))


def test_keyframe_every_rebuilds_colour_keeps_luma_and_doubles_rate(scene: dict,
                                                                     tmp_path: Path) -> None:
    out = tmp_path / "out.mkv"
    code, output = run_cli("upscale", scene["colour"], "--out", out, "--keyframe-every", "8",
                           "--codec", "ffv1")
    assert code == 0, output
    # The default colouriser is the classical one, with no fine-tuning pass.
    assert "3 keyframes, 17 frames colourised by flow" in output
    assert "adapted" not in output
    pictures, rgb = decoded(out)
    source, _ = decoded(scene["colour"])
    assert len(pictures) == 2 * FRAMES
    assert all(np.array_equal(pictures[2 * i].y, s.y) for i, s in enumerate(source))
    keys = range(0, FRAMES, 8)
    assert _chroma_psnr(rgb, scene["truth"], keys) > 45  # keyframes: their own colour
    between = range(1, 16)
    assert _chroma_psnr(rgb, scene["truth"], between) > 32


def test_reference_video_at_lower_rate_and_size_colours_grey_input(scene: dict,
                                                                    tmp_path: Path) -> None:
    truth = scene["truth"]
    reference = write_clip(tmp_path / "ref.mkv",
                           [cv2.resize(f, (48, 32), interpolation=cv2.INTER_AREA)
                            for f in truth[::4]], rate=Fraction(25, 4))
    out = tmp_path / "out.mkv"
    code, output = run_cli("upscale", scene["grey"], "--reference", reference, "--out", out,
                           "--codec", "ffv1")
    assert code == 0, output
    assert "5 keyframes" in output
    pictures, rgb = decoded(out)
    grey, _ = decoded(scene["grey"])
    assert len(pictures) == 2 * FRAMES
    assert all(np.array_equal(pictures[2 * i].y, g.y) for i, g in enumerate(grey))
    assert _chroma_psnr(rgb, truth, range(FRAMES)) > 30
    _, grey_rgb = decoded(scene["grey"])
    uncoloured = float(np.mean([psnr(t, g) for t, g in zip(truth, grey_rgb, strict=True)]))
    assert _chroma_psnr(rgb, truth, range(FRAMES)) > uncoloured + 5


def test_a_reference_filmed_beside_the_input_is_registered_to_it(scene: dict,
                                                                  tmp_path: Path) -> None:
    # A second camera: the view moved by (5, 3) pixels, its sensor 10 levels brighter.
    shift = np.float32([[1, 0, 5], [0, 1, 3]])
    beside = [np.clip(cv2.warpAffine(f, shift, (96, 64), borderMode=cv2.BORDER_REFLECT)
                      .astype(np.int16) + 10, 0, 255).astype(np.uint8)
              for f in scene["truth"][::4]]
    reference = write_clip(tmp_path / "beside.mkv", beside, rate=Fraction(25, 4))
    grey, _ = decoded(scene["grey"])
    with VideoFileSource(scene["grey"]) as source:
        info = source.info

    def keyframe_psnr(register: bool) -> float:
        keys = ReferenceKeyframes(reference, info, register=register)
        coloured = {i: g.with_chroma_of(key) for i, g in enumerate(grey)
                    if (key := keys.keyframe_for(i, g)) is not None}
        keys.close()
        assert sorted(coloured) == [0, 4, 8, 12, 16]
        return float(np.mean([psnr(scene["truth"][i], to_rgb(
            picture_to_frame(p, info.working, info.colour), info.colour, 8))
            for i, p in coloured.items()]))

    transplanted, registered = keyframe_psnr(False), keyframe_psnr(True)
    assert registered > transplanted + 6, (transplanted, registered)


def jerky_frames(count: int, seed: int) -> list[np.ndarray]:
    """A texture moving by a different random step each frame: motion with a rhythm that
    two cameras filming it share."""
    base = texture(64, 96, seed)
    positions = np.cumsum(np.random.default_rng(seed).integers(0, 5, count)) % 64
    return [np.ascontiguousarray(base[p // 2:p // 2 + 64, p:p + 96]) for p in positions]


def test_reference_offset_auto_finds_when_the_reference_started(tmp_path: Path) -> None:
    truth = jerky_frames(60, seed=4)
    grey = write_clip(tmp_path / "grey.mkv", [grey_of(f) for f in truth])
    # A second camera started 0.6 s later, at half the rate.
    later = write_clip(tmp_path / "later.mkv", truth[15::2], rate=Fraction(25, 2))
    out = tmp_path / "out.mkv"
    code, output = run_cli("upscale", grey, "--reference", later, "--reference-offset", "auto",
                           "--out", out)
    assert code == 0, output
    assert "reference offset found: +0.600 s" in output and "23 keyframes" in output
    # Started 0.4 s earlier instead; and a video of something else is not matched.
    earlier = write_clip(tmp_path / "earlier.mkv", jerky_frames(70, seed=4)[::2],
                         rate=Fraction(25, 2))
    assert find_offset(write_clip(tmp_path / "grey2.mkv", [grey_of(f) for f in
                                  jerky_frames(70, seed=4)[10:]]), earlier).offset == \
        pytest.approx(-0.4, abs=0.01)
    other = write_clip(tmp_path / "other.mkv", jerky_frames(30, seed=9), rate=Fraction(25, 2))
    code, output = run_cli("upscale", grey, "--reference", other, "--reference-offset", "auto",
                           "--out", tmp_path / "other_out.mkv")
    assert code == 1 and "could not find the reference's offset" in output
    assert not (tmp_path / "other_out.mkv").exists()


def test_keyframe_images_named_by_index_and_time(scene: dict, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    truth = scene["truth"]
    cv2.imwrite(str(keys / "000000.png"), cv2.cvtColor(truth[0], cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(keys / "t=0.64s.png"), cv2.cvtColor(truth[16], cv2.COLOR_RGB2BGR))
    out = tmp_path / "out.mkv"
    code, output = run_cli("upscale", scene["grey"], "--keyframes", keys, "--out", out,
                           "--codec", "ffv1")
    assert code == 0, output
    assert "2 keyframes" in output
    _, rgb = decoded(out)
    assert _chroma_psnr(rgb, truth, range(17)) > 30


def test_colour_never_crosses_a_scene_cut(tmp_path: Path) -> None:
    """The only keyframe is in the first shot: the second shot stays grey, with a warning."""
    warm = [np.clip(f * [1.0, 0.6, 0.3], 0, 255).astype(np.uint8)
            for f in moving_frames(10, 64, 96, seed=1)]
    cold = [np.clip(f * [0.2, 0.5, 1.0] * 0.5, 0, 255).astype(np.uint8)
            for f in moving_frames(10, 64, 96, seed=2)]
    truth = warm + cold
    grey = write_clip(tmp_path / "grey.mkv", [grey_of(f) for f in truth])
    keys = tmp_path / "keys"
    keys.mkdir()
    cv2.imwrite(str(keys / "0.png"), cv2.cvtColor(truth[0], cv2.COLOR_RGB2BGR))
    out = tmp_path / "out.mkv"
    # ae, whose bar the first shot's score was set by (flow, the default, scores 29.8 here).
    code, output = run_cli("upscale", grey, "--keyframes", keys, "--colouriser", "ae", "--out",
                           out, "--codec", "ffv1")
    assert code == 0, output
    assert "1 scene cuts" in output and "10 frame(s) in shots without a keyframe" in output
    pictures, rgb = decoded(out)
    assert _chroma_psnr(rgb, truth, range(1, 10)) > 30
    assert not any(p.has_colour for p in pictures[20:])


def test_long_gaps_are_coloured_in_bounded_batches(scene: dict) -> None:
    colouriser = build_colouriser("nearest", "cpu")
    batches: list[int] = []
    real = colouriser.colourise

    def recording(grey: list[Picture], before: Picture | None,
                  after: Picture | None) -> list[Picture]:
        batches.append(len(grey))
        return real(grey, before, after)

    colouriser.colourise = recording  # type: ignore[method-assign]
    with VideoFileSource(scene["colour"]) as source:
        first = next(source.pictures())
    pictures = [first.with_time(i / 25) for i in range(2 * MAX_GAP + 10)]
    counts = FusionCounts()
    made = list(colourise_stream(pictures, EveryNthKeyframe(10_000), colouriser,
                                 SceneCutDetector(0.3), counts))
    assert len(made) == len(pictures) and counts.keyframes == 1
    assert max(batches) <= MAX_GAP and sum(batches) == len(pictures) - 1
    assert all(np.array_equal(m.u, first.u) for m in made)  # far from the key: still coloured


@pytest.fixture(scope="module")
def bad(scene: dict) -> dict[str, Path]:
    root: Path = scene["root"]
    truth = scene["truth"]
    (root / "empty").mkdir()
    (root / "badname").mkdir()
    cv2.imwrite(str(root / "badname" / "frame-a.png"), truth[0])
    (root / "corrupt").mkdir()
    (root / "corrupt" / "000004.png").write_bytes(b"not a png")
    return {
        "square": write_clip(root / "square.mkv", [f[:, :64] for f in truth[::4]],
                             rate=Fraction(25, 4)),
        "grey_ref": write_clip(root / "grey_ref.mkv", [grey_of(f) for f in truth[::4]],
                               rate=Fraction(25, 4)),
        "ref": write_clip(root / "ref.mkv", truth[::4], rate=Fraction(25, 4)),
        **{name: root / name for name in ("empty", "badname", "corrupt")},
    }


@pytest.mark.parametrize(("case", "args", "fragment"), [
    ("colour input", ["{colour}", "--reference", "{ref}"], "the input is in colour"),
    ("no overlap", ["{grey}", "--reference", "{ref}", "--reference-offset", "100"],
     "no frame can match"),
    ("aspect", ["{grey}", "--reference", "{square}"], "different aspect ratios"),
    ("grey reference", ["{grey}", "--reference", "{grey_ref}"], "has no colour"),
    ("empty dir", ["{grey}", "--keyframes", "{empty}"], "no keyframe images"),
    ("bad name", ["{grey}", "--keyframes", "{badname}"], "name it by a frame index"),
    ("corrupt image", ["{grey}", "--keyframes", "{corrupt}"], "cannot read keyframe image"),
    ("grey input, own colour", ["{grey}", "--keyframe-every", "8"], "input is greyscale"),
    ("two sources", ["{grey}", "--keyframe-every", "8", "--reference", "{ref}"],
     "alternatives"),
    ("grey alone", ["{grey}", "--grey"], "--grey needs colour"),
    ("auto offset alone", ["{grey}", "--reference-offset", "auto"], "needs a --reference"),
    ("auto offset, images", ["{empty}", "--reference", "{ref}", "--reference-offset", "auto"],
     "an image folder is not"),
    ("offset", ["{grey}", "--reference", "{ref}", "--reference-offset", "soon"],
     "takes seconds or auto"),
])
def test_bad_colour_sources_fail_cleanly(case: str, args: list[str], fragment: str,
                                         scene: dict, bad: dict, tmp_path: Path) -> None:
    paths = {**bad, "colour": scene["colour"], "grey": scene["grey"]}
    out = tmp_path / "out.mkv"
    code, output = run_cli("upscale", *[a.format(**paths) for a in args], "--out", out)
    assert code != 0, case
    assert_one_line_error(output, fragment)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_grey_flag_discards_input_colour(scene: dict, bad: dict, tmp_path: Path) -> None:
    out = tmp_path / "out.mkv"
    code, output = run_cli("upscale", scene["colour"], "--reference", bad["ref"], "--grey",
                           "--out", out, "--codec", "ffv1")
    assert code == 0, output
    assert "5 keyframes" in output


def test_adapt_fine_tunes_on_keyframes_and_reports_held_out_gain(scene: dict,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "out.mkv"
    code, output = run_cli("upscale", scene["colour"], "--keyframe-every", "2", "--colouriser",
                           "ae", "--adapt", "5", "--out", out, "--codec", "ffv1")
    assert code == 0, output
    assert "adapted 5 steps on 10 keyframes, held-out keyframes" in " ".join(output.split())
    _, rgb = decoded(out)
    assert _chroma_psnr(rgb, scene["truth"], range(1, FRAMES, 2)) > 32


def test_adapt_is_deterministic_and_keeps_only_weights_that_help(scene: dict) -> None:
    import torch

    from vidfuse.adapt import adapt, collect_keyframes

    with VideoFileSource(scene["colour"]) as source:
        pictures = list(source.pictures())
    shots = collect_keyframes(pictures, EveryNthKeyframe(2), SceneCutDetector(0.3))
    assert [len(s) for s in shots] == [10]
    tuned = [build_colouriser("ae", "cpu") for _ in range(2)]
    reports = [adapt(c, shots, 3, seed=1) for c in tuned]
    assert reports[0] == reports[1] and reports[0].held_out_after is not None
    weights = [torch.cat([p.flatten() for p in c.model.parameters()]) for c in tuned]
    shipped = torch.cat([p.flatten() for p in build_colouriser("ae", "cpu").model.parameters()])
    assert torch.equal(weights[0], weights[1])
    # Tuned weights stay only where they beat the shipped ones on held-out keyframes.
    assert torch.equal(weights[0], shipped) != reports[0].kept
    assert reports[0].kept == (reports[0].held_out_after > reports[0].held_out_before)


@pytest.mark.parametrize("colouriser", [["--colouriser", "flow"], []], ids=["flow", "auto"])
def test_adapt_needs_the_learned_colouriser(scene: dict, tmp_path: Path,
                                            colouriser: list[str]) -> None:
    out = tmp_path / "out.mkv"
    code, output = run_cli("upscale", scene["colour"], "--keyframe-every", "4", *colouriser,
                           "--adapt", "10", "--out", out)
    assert code == 2
    assert_one_line_error(output, "--adapt fine-tunes the learned colouriser (ae)")
    assert not out.exists()


def test_static_pixels_keep_half_their_colour_and_moving_ones_their_own() -> None:
    # Left half: the scene did not move, yet the colouriser changed its colour (flicker).
    # Right half: the luma changed, so the new colour is the scene's own.
    luma = np.full((8, 16), 100, np.uint8)
    earlier = Picture(luma, np.full((4, 8), 120, np.uint8), np.full((4, 8), 140, np.uint8),
                      8, 0.0)
    moved = luma.copy()
    moved[:, 8:] = 180
    later = Picture(moved, np.full((4, 8), 100, np.uint8), np.full((4, 8), 160, np.uint8),
                    8, 0.04)
    made = steadied(later, earlier)
    assert made.y is later.y  # luma is never touched
    assert (made.u[:, :4] == 110).all() and (made.v[:, :4] == 150).all()
    assert (made.u[:, 4:] == 100).all() and (made.v[:, 4:] == 160).all()
