"""The work folder of a long video made in segments: what its output depends on, the plan,
and each finished segment with a record that proves it whole, so that an interrupted run
resumes from exactly what it can trust.

``job.json`` holds the job (the input file's size and time, every option that changes a
frame, the vidfuse version), ``plan.json`` the plan, and ``segment-00001.json`` beside each
segment its size and SHA-256. Records are written whole or not at all (a temporary name,
then a rename), after the file they vouch for.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from vidfuse.errors import OutputError, UsageError
from vidfuse.options import Observer, UpscaleOptions
from vidfuse.segments import Plan, Segment, SegmentResult, segment_suffix
from vidfuse.video.pipes import is_pipe


def work_folder(options: UpscaleOptions) -> Path:
    """Where the segments of ``options.output`` are kept until it is complete: beside it, or
    in ``work_dir`` (a folder of its own there, so outputs can share one ``--work-dir``)."""
    if options.work_dir is not None:
        return options.work_dir / f"{options.output.name}.vidfuse-segments"
    return options.output.parent / f".{options.output.name}.vidfuse-segments"


def finished_segments(options: UpscaleOptions) -> int:
    """How many finished segments an interrupted run to ``options.output`` left (by their
    records; what a resumed run will check)."""
    folder = work_folder(options)
    return len(list(folder.glob("segment-*.json"))) if folder.is_dir() else 0


def job_identity(options: UpscaleOptions, seconds: float, engine: str) -> dict[str, Any]:
    """What the output depends on, as JSON: a resumed run must match it exactly."""
    def stat(path: Path | None) -> object:
        if path is None or is_pipe(path):
            return None
        found = path.stat()
        return {"path": str(path.resolve()), "size": found.st_size,
                "modified": found.st_mtime_ns}

    kept = {f.name: getattr(options, f.name) for f in dataclasses.fields(options)
            if f.name not in ("output", "overwrite", "jobs", "cluster", "work_dir")}
    kept["encode"] = dataclasses.replace(options.encode, encoder_logs=False)
    kept.update(segment=seconds, engine=engine, input=stat(options.input),
                reference=stat(options.reference), keyframes=stat(options.keyframes))
    from vidfuse import __version__  # the package imports this module as it starts

    kept["vidfuse"] = __version__
    return dict(json.loads(json.dumps(kept, default=_plain, sort_keys=True)))


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


def open_job(folder: Path, identity: dict[str, Any], observer: Observer) -> Plan | None:
    """The plan of an interrupted run of the same job in ``folder``, or None (the folder made
    ready for a new one, and one line saying why anything there was not reused)."""
    try:
        old = json.loads((folder / "job.json").read_text())
        plan = plan_from(json.loads((folder / "plan.json").read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        old = plan = None
    if old is not None and old == identity and plan is not None:
        return plan
    if old is not None:
        observer.note(f"not resuming the segments in {folder}: {_difference(old, identity)}; "
                      "starting over")
    if folder.exists():
        if not (folder / "job.json").exists() and any(folder.iterdir()):
            raise UsageError(f"work folder {folder} holds files vidfuse did not write: "
                             "choose another with --work-dir")
        shutil.rmtree(folder)
    try:
        folder.mkdir(parents=True)
        write_json(folder / "job.json", identity)
    except OSError as exc:
        raise OutputError(f"cannot create the work folder {folder}: {exc.strerror}") from exc
    return None


def _difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    """The first thing that changed, as a user names it."""
    if old.get("input") != new.get("input"):
        return "the input file changed since"
    if old.get("vidfuse") != new.get("vidfuse"):
        return f"they were made by vidfuse {old.get('vidfuse')}"
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            flag = "--" + key.replace("_", "-")
            return f"{flag} differs ({old.get(key)} then, {new.get(key)} now)"
    return "the saved plan is unreadable"


def plan_from(data: dict[str, Any]) -> Plan:
    segments = tuple(Segment(**{**s, "repeats": tuple(s["repeats"])})
                     for s in data.pop("segments"))
    return Plan(segments=segments, **data)


def segment_path(folder: Path, number: int, options: UpscaleOptions) -> Path:
    return folder / f"segment-{number:05d}{segment_suffix(options)}"


def reusable_segments(folder: Path, plan: Plan, options: UpscaleOptions
                      ) -> dict[int, SegmentResult]:
    """The segments already made, each checked against its record; a damaged or unfinished
    one is removed, to be made again."""
    found = {}
    for segment in plan.segments:
        path = segment_path(folder, segment.number, options)
        record = path.with_suffix(".json")
        try:
            saved = json.loads(record.read_text())
            intact = (path.stat().st_size == saved["size"]
                      and sha256(path) == saved["sha256"])
            result = SegmentResult(**saved["result"])
        except (OSError, ValueError, KeyError, TypeError):
            intact = False
        if intact:
            found[segment.number] = result
        else:
            path.unlink(missing_ok=True)
            record.unlink(missing_ok=True)
    return found


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_json(path: Path, data: object) -> None:
    """Written whole or not at all: a record is what makes a segment count as finished."""
    temp = path.with_name(path.name + ".partial")
    temp.write_text(json.dumps(data, default=str))  # the last segment ends at Infinity
    os.replace(temp, path)




def record(path: Path, result: SegmentResult) -> None:
    """Mark the segment at ``path`` finished, with what makes it checkable."""
    write_json(path.with_suffix(".json"), {"size": path.stat().st_size, "sha256": sha256(path),
                                           "result": dataclasses.asdict(result)})
