"""Every Python example in the README and docs/ runs, as written, on a small real clip."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest
from clips import moving_frames, write_clip

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
EXAMPLES = [(page, number, code) for page in PAGES
            for number, code in enumerate(BLOCK.findall(page.read_text()), 1)]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding the files the examples name (in.mp4), as a user's would."""
    write_clip(tmp_path / "in.mp4", moving_frames(12, 64, 96), codec="libx264",
               pix_fmt="yuv420p", audio_seconds=0.5)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_docs_have_python_examples() -> None:
    assert EXAMPLES, "no ```python blocks found"


@pytest.mark.parametrize(("page", "number", "code"), EXAMPLES,
                         ids=[f"{p.name}-{n}" for p, n, _ in EXAMPLES])
def test_documented_python_example_runs(workdir: Path, page: Path, number: int,
                                        code: str) -> None:
    exec(compile(code, f"{page.name} example {number}", "exec"), {"__name__": "__main__"})


def test_the_example_script_runs(workdir: Path) -> None:
    runpy.run_path(str(ROOT / "examples" / "upscale_from_python.py"), run_name="__main__")
    assert (workdir / "bbb_100fps.mkv").stat().st_size > 0


def test_paths_may_be_str_or_pathlike(workdir: Path) -> None:
    from vidfuse import UpscaleOptions, default_output, probe, upscale

    assert probe("in.mp4").frame_count == 12
    assert default_output("in.mp4") == Path("in_x2.mp4")
    result = upscale(UpscaleOptions("in.mp4", "out.mkv", fps=50))
    assert result.output == Path("out.mkv") and result.frames_out == 24


LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", [*PAGES, ROOT / "CHANGELOG.md"], ids=lambda p: p.name)
def test_links_between_pages_lead_somewhere(page: Path) -> None:
    local = [link for link in LINK.findall(page.read_text()) if "://" not in link]
    missing = [link for link in local if not (page.parent / link).exists()]
    assert not missing, f"{page.name} links to missing files: {missing}"
