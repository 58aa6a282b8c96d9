"""A long video in segments: planned once, made on every core or a Ray cluster, kept in a
work folder so that an interrupted run resumes, then joined by copying packets.

The work folder (beside the output, or ``--work-dir``) holds ``job.json`` (what the output
depends on: the input file's size and time, every option that changes a frame, the vidfuse
version), ``plan.json`` and each finished segment with a ``.json`` record of its size and
SHA-256. A run that finds the folder reuses what matches and redoes what does not; the
folder goes once the output is complete.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import queue
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from vidfuse.colourisers import Colouriser
from vidfuse.dedup import repeat_hint
from vidfuse.engines import Interpolator
from vidfuse.errors import Cancelled, OutputError, UsageError, VidfuseError
from vidfuse.framerate import StreamCounts
from vidfuse.options import Observer, UpscaleOptions, UpscaleResult
from vidfuse.pipeline import open_sink, schedule_for, warn_about_source
from vidfuse.segments import (
    DEFAULT_SEGMENT_SECONDS,
    Plan,
    Segment,
    SegmentResult,
    make_segment,
    plan_segments,
    segment_suffix,
    unsplittable,
)
from vidfuse.video.atomic import atomic_output
from vidfuse.video.join import join_segments
from vidfuse.video.pipes import is_pipe
from vidfuse.video.reader import VideoFileSource, open_source
from vidfuse.video.writer import VideoFileSink, output_kind

# Without --segment, videos at least this long are cut (into DEFAULT_SEGMENT_SECONDS): three
# segments, where resuming starts to save real time; shorter ones run in one pass unless
# --jobs or --cluster asks for parallel work.
AUTO_FROM_SECONDS = 3 * DEFAULT_SEGMENT_SECONDS
# With --jobs N on a shorter video: N segments at least twice over, of at least this long.
_SHORTEST_AUTO = 5.0
_TRIES = 2  # a failing segment is tried again once before the run fails
_PROGRESS_EVERY = 0.25  # seconds between progress reports from a worker process


def segment_length(options: UpscaleOptions) -> float | None:
    """Seconds per segment for this run, or None for one single pass.

    Pipes, PNG-frame outputs and image folders run in one pass; so do videos shorter than
    :data:`AUTO_FROM_SECONDS` unless ``--segment``, ``--jobs`` or ``--cluster`` asks."""
    asked = options.segment
    parallel = options.jobs > 1 or options.cluster is not None
    if asked == 0 or is_pipe(options.input) or is_pipe(options.output) \
            or output_kind(options.output) != "video" or unsplittable(options):
        if (asked or parallel) and (reason := _why_one_pass(options)):
            raise UsageError(f"--segment, --jobs and --cluster cut a video into segments, "
                             f"but {reason}")
        return None
    if asked is not None:
        return asked
    with open_source(options.input, options.image_fps, options.span) as source:
        duration = source.info.duration
    if duration is None:
        return DEFAULT_SEGMENT_SECONDS if parallel else None
    if duration >= AUTO_FROM_SECONDS:
        return DEFAULT_SEGMENT_SECONDS
    if not parallel:
        return None
    share = duration / (2 * max(options.jobs, 2))
    return max(_SHORTEST_AUTO, min(DEFAULT_SEGMENT_SECONDS, share))


def _why_one_pass(options: UpscaleOptions) -> str | None:
    if options.segment == 0:
        return "--segment 0 turns segments off"
    if is_pipe(options.input) or is_pipe(options.output):
        return "a pipe is read or written once, in order"
    if output_kind(options.output) != "video":
        return "PNG frames are numbered in one pass"
    return unsplittable(options)


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


def run_segmented(options: UpscaleOptions, seconds: float,
                  models: tuple[Interpolator, Colouriser | None], observer: Observer,
                  cancel: threading.Event | None = None) -> UpscaleResult:
    """Plan (or resume), make every segment not yet made, join them into the output."""
    started = time.perf_counter()
    engine, _ = models
    folder = work_folder(options)
    identity = _identity(options, seconds, engine.name)
    plan = _resume(folder, identity, observer)
    with open_source(options.input, options.image_fps, options.span,
                     options.deinterlace) as source:
        info = source.info
    if plan is None:
        observer.started(info, engine)
        observer.note("planning segments")
        plan = plan_segments(options, engine, seconds,
                             lambda done: observer.planning(done, info.frame_count))
        # The clock a single pass keeps (its first decoded frame's time, exactly).
        plan = dataclasses.replace(plan, start_time=info.start_time)
        _write_json(folder / "plan.json", dataclasses.asdict(plan))
        if plan.reason:
            observer.warning(f"the video runs as one segment: {plan.reason}")
    results = _finished(folder, plan, options)
    if results:
        observer.note(f"resuming: {len(results)} of {len(plan.segments)} segments done")
    info = dataclasses.replace(info, frame_count=plan.frames)
    observer.started(info, engine)
    warn_about_source(info, options.deinterlace, observer)
    resumed = sum(r.frames_in for r in results.values())
    todo = [s for s in plan.segments if s.number not in results]
    counts = StreamCounts(frames_in=resumed)
    observer.advanced(counts)
    for result in _make_all(options, plan, todo, folder, models, counts, observer, cancel):
        results[result.number] = result
    _join(options, plan, folder, observer)
    shutil.rmtree(folder, ignore_errors=True)
    summary = _summary(options, plan, list(results.values()), engine,
                       time.perf_counter() - started, models[1], observer)
    return dataclasses.replace(summary, resumed=resumed)


def _identity(options: UpscaleOptions, seconds: float, engine: str) -> dict[str, Any]:
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


def _resume(folder: Path, identity: dict[str, Any], observer: Observer) -> Plan | None:
    """The plan of an interrupted run of the same job in ``folder``, or None (the folder made
    ready for a new one, and one line saying why anything there was not reused)."""
    try:
        old = json.loads((folder / "job.json").read_text())
        plan = _plan_from(json.loads((folder / "plan.json").read_text()))
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
        _write_json(folder / "job.json", identity)
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


def _plan_from(data: dict[str, Any]) -> Plan:
    segments = tuple(Segment(**{**s, "repeats": tuple(s["repeats"])})
                     for s in data.pop("segments"))
    return Plan(segments=segments, **data)


def _segment_path(folder: Path, number: int, options: UpscaleOptions) -> Path:
    return folder / f"segment-{number:05d}{segment_suffix(options)}"


def _finished(folder: Path, plan: Plan, options: UpscaleOptions) -> dict[int, SegmentResult]:
    """The segments already made, each checked against its record; a damaged or unfinished
    one is removed, to be made again."""
    found = {}
    for segment in plan.segments:
        path = _segment_path(folder, segment.number, options)
        record = path.with_suffix(".json")
        try:
            saved = json.loads(record.read_text())
            intact = (path.stat().st_size == saved["size"]
                      and _sha256(path) == saved["sha256"])
            result = SegmentResult(**saved["result"])
        except (OSError, ValueError, KeyError, TypeError):
            intact = False
        if intact:
            found[segment.number] = result
        else:
            path.unlink(missing_ok=True)
            record.unlink(missing_ok=True)
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _write_json(path: Path, data: object) -> None:
    """Written whole or not at all: a record is what makes a segment count as finished."""
    temp = path.with_name(path.name + ".partial")
    temp.write_text(json.dumps(data, default=str))  # the last segment ends at Infinity
    os.replace(temp, path)


def make_and_record(options: UpscaleOptions, plan: Plan, segment: Segment, folder: Path,
                    models: tuple[Interpolator, Colouriser | None],
                    progress: Callable[[int], None] | None = None,
                    cancel: Callable[[], bool] | None = None, node: str = "") -> SegmentResult:
    """Make one segment and record it as finished (in whatever process or node runs it)."""
    path = _segment_path(folder, segment.number, options)
    result = make_segment(options, plan, segment, path, models, progress, cancel, node)
    _write_json(path.with_suffix(".json"),
                {"size": path.stat().st_size, "sha256": _sha256(path),
                 "result": dataclasses.asdict(result)})
    return result


def _make_all(options: UpscaleOptions, plan: Plan, todo: list[Segment], folder: Path,
              models: tuple[Interpolator, Colouriser | None], counts: StreamCounts,
              observer: Observer, cancel: threading.Event | None) -> Iterator[SegmentResult]:
    """Make ``todo``, in this process, in ``options.jobs`` processes or on a Ray cluster,
    reporting the frames done of all to ``observer``; each segment is tried twice."""
    if not todo:
        return
    base = counts.frames_in
    live: dict[int, int] = {}  # frames done so far of each segment being made

    def report(number: int, done: int) -> None:
        live[number] = done
        counts.frames_in = base + sum(live.values())
        observer.advanced(counts)

    def finished(result: SegmentResult) -> SegmentResult:
        nonlocal base
        live.pop(result.number, None)
        base += result.frames_in
        counts.frames_in = base + sum(live.values())
        observer.advanced(counts)
        return result

    if options.cluster is not None:
        runner = _on_ray(options, plan, todo, folder, report, cancel)
    elif options.jobs > 1:
        runner = _in_processes(options, plan, todo, folder, report, cancel)
    else:
        runner = _here(options, plan, todo, folder, models, report, cancel)
    for result in runner:
        yield finished(result)


def _failed(segment: Segment, plan: Plan, error: BaseException) -> OutputError:
    what = segment.describe(plan.start_time)
    message = str(error) if isinstance(error, VidfuseError) else \
        f"{type(error).__name__}: {error}"
    return OutputError(f"{what} failed twice: {message.splitlines()[0] if message else ''} "
                       f"(the finished segments are kept: run the same command to resume)")


def _here(options: UpscaleOptions, plan: Plan, todo: list[Segment], folder: Path,
          models: tuple[Interpolator, Colouriser | None],
          report: Callable[[int, int], None], cancel: threading.Event | None
          ) -> Iterator[SegmentResult]:
    stopped = cancel.is_set if cancel is not None else None
    for segment in todo:
        progress = partial(report, segment.number)
        for attempt in range(1, _TRIES + 1):
            try:
                yield make_and_record(options, plan, segment, folder, models, progress,
                                      stopped)
                break
            except (Cancelled, KeyboardInterrupt, UsageError):
                raise
            except Exception as exc:
                if attempt == _TRIES:
                    raise _failed(segment, plan, exc) from exc


def _start_worker(jobs: int) -> None:
    """Worker initialiser: its share of the cores; Ctrl-C is the parent's to handle (it
    stops the workers through the stop event, with no traceback from each)."""
    from vidfuse.workers import share_cores

    share_cores(jobs)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _make_in_worker(options: UpscaleOptions, plan: Plan, segment: Segment, folder: Path,
                    progress: Any = None, stop: Any = None) -> SegmentResult:
    """A segment in a worker process or on a Ray node: models loaded once per process."""
    from vidfuse.workers import models_for

    node = ""
    try:
        import ray

        if ray.is_initialized():
            node = ray.get_runtime_context().get_node_id()
    except ImportError:
        pass
    last = [0.0]

    def report(done: int) -> None:
        now = time.monotonic()
        if progress is not None and (now - last[0] >= _PROGRESS_EVERY or
                                     done == segment.frames):
            last[0] = now
            progress.put((segment.number, done))

    return make_and_record(options, plan, segment, folder, models_for(options), report,
                           stop.is_set if stop is not None else None, node)


def _in_processes(options: UpscaleOptions, plan: Plan, todo: list[Segment], folder: Path,
                  report: Callable[[int, int], None], cancel: threading.Event | None
                  ) -> Iterator[SegmentResult]:
    context = get_context("spawn")  # torch and OpenCV thread pools do not survive a fork
    with context.Manager() as manager, ProcessPoolExecutor(
            options.jobs, mp_context=context, initializer=_start_worker,
            initargs=(options.jobs,)) as pool:
        updates, stop = manager.Queue(), manager.Event()
        tries = {s.number: 0 for s in todo}
        pending: dict[Future[SegmentResult], Segment] = {}

        def submit(segment: Segment) -> None:
            tries[segment.number] += 1
            pending[pool.submit(_make_in_worker, options, plan, segment, folder,
                                updates, stop)] = segment

        for segment in todo:
            submit(segment)
        try:
            while pending:
                done, _ = wait(pending, timeout=_PROGRESS_EVERY, return_when=FIRST_COMPLETED)
                _drain(updates, report)
                if cancel is not None and cancel.is_set():
                    raise Cancelled("stopped on request")
                for future in done:
                    segment = pending.pop(future)
                    try:
                        yield future.result()
                    except (UsageError, Cancelled):
                        raise
                    except Exception as exc:
                        if tries[segment.number] >= _TRIES:
                            raise _failed(segment, plan, exc) from exc
                        submit(segment)
        except BaseException:
            stop.set()  # the workers stop at their next frame
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _drain(updates: Any, report: Callable[[int, int], None]) -> None:
    while True:
        try:
            number, done = updates.get_nowait()
        except queue.Empty:
            return
        report(number, done)


def _on_ray(options: UpscaleOptions, plan: Plan, todo: list[Segment], folder: Path,
            report: Callable[[int, int], None], cancel: threading.Event | None
            ) -> Iterator[SegmentResult]:
    """One Ray task per segment; nodes read the input and write the work folder through
    shared storage at the same paths. Progress moves a segment at a time."""
    try:
        import ray
    except ImportError:
        raise UsageError("--cluster needs Ray: pip install 'vidfuse[ray]'") from None
    if not ray.is_initialized():
        ray.init(address=options.cluster, log_to_driver=False)
    gpus = ray.cluster_resources().get("GPU", 0)
    if gpus:
        options = dataclasses.replace(options, device="cuda")
    task = ray.remote(num_cpus=1, num_gpus=1 if gpus else 0, max_retries=0)(_make_in_worker)
    tries = {s.number: 0 for s in todo}
    refs: dict[Any, Segment] = {}

    def submit(segment: Segment) -> None:
        tries[segment.number] += 1
        refs[task.remote(options, plan, segment, folder)] = segment

    for segment in todo:
        submit(segment)
    try:
        while refs:
            done, _ = ray.wait(list(refs), num_returns=1, timeout=_PROGRESS_EVERY)
            if cancel is not None and cancel.is_set():
                raise Cancelled("stopped on request")
            for ref in done:
                segment = refs.pop(ref)
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayError as exc:
                    if tries[segment.number] >= _TRIES:
                        cause = getattr(exc, "cause", None) or exc
                        raise _failed(segment, plan, cause) from exc
                    submit(segment)
    except BaseException:
        for ref in refs:
            ray.cancel(ref, force=True)
        raise


def _join(options: UpscaleOptions, plan: Plan, folder: Path, observer: Observer) -> None:
    """The output from the segments and the input's other streams, moved into place whole."""
    paths = [_segment_path(folder, s.number, options) for s in plan.segments]
    with open_source(options.input, options.image_fps, options.span,
                     options.deinterlace) as source, atomic_output(options.output) as temp:
        assert isinstance(source, VideoFileSource)  # image folders run in one pass
        info = source.info
        sink = open_sink(options, info, schedule_for(options, info), temp, observer.warning)
        assert isinstance(sink, VideoFileSink)  # PNG frames run in one pass
        try:
            join_segments(sink, paths, source if options.encode.keep_audio and
                          not options.slowmo else None)
        except BaseException:
            sink.abort()
            raise


def _summary(options: UpscaleOptions, plan: Plan, results: list[SegmentResult],
             engine: Interpolator, seconds: float, colouriser: Colouriser | None,
             observer: Observer) -> UpscaleResult:
    """The run's result as a single pass reports it, with the warnings it would give."""
    total = sum(r.frames_in for r in results)
    if not options.dedup and (hint := repeat_hint(plan.repeats, total)):
        observer.warning(hint)
    if plan.damaged:
        observer.warning(f"{plan.damaged} damaged video packet(s) skipped: their frames are "
                         "missing, and the frames around them are interpolated across")
    uncoloured = sum(r.uncoloured for r in results)
    if uncoloured:
        observer.warning(f"{uncoloured} frame(s) in shots without a keyframe were left grey")
    return UpscaleResult(
        output=options.output, engine=engine.name, device=engine.device,
        frames_in=total, frames_out=sum(r.frames_out for r in results),
        interpolated=sum(r.interpolated for r in results),
        scene_cuts=sum(r.scene_cuts for r in results), seconds=seconds,
        repeats=plan.repeats if options.dedup else 0,
        colouriser=colouriser.name if colouriser else None,
        keyframes=sum(r.keyframes for r in results),
        colourised=sum(r.colourised for r in results),
        segments=len(plan.segments),
        nodes=tuple(sorted({r.node for r in results if r.node})))
