"""A long video in segments: planned once, made on every core or a Ray cluster, kept in a
work folder so that an interrupted run resumes, then joined by copying packets.

The work folder (beside the output, or in ``--work-dir``; `vidfuse.work_folder`) keeps the
job, the plan and each finished segment: a run that finds it reuses what matches and redoes
what does not; it goes once the output is complete.
"""

from __future__ import annotations

import dataclasses
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
    unsplittable,
)
from vidfuse.video.atomic import atomic_output
from vidfuse.video.join import join_segments
from vidfuse.video.pipes import is_pipe
from vidfuse.video.reader import VideoFileSource, open_source
from vidfuse.video.writer import VideoFileSink, output_kind
from vidfuse.work_folder import (
    job_identity,
    open_job,
    record,
    reusable_segments,
    segment_path,
    work_folder,
    write_json,
)

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
    if (reason := _why_one_pass(options)) is not None:
        if asked or parallel:
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


def run_segmented(options: UpscaleOptions, seconds: float,
                  models: tuple[Interpolator, Colouriser | None], observer: Observer,
                  cancel: threading.Event | None = None) -> UpscaleResult:
    """Plan (or resume), make every segment not yet made, join them into the output."""
    started = time.perf_counter()
    engine, _ = models
    folder = work_folder(options)
    plan = open_job(folder, job_identity(options, seconds, engine.name), observer)
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
        write_json(folder / "plan.json", dataclasses.asdict(plan))
        if plan.reason:
            observer.warning(f"the video runs as one segment: {plan.reason}")
    results = reusable_segments(folder, plan, options)
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
    return _summary(options, plan, list(results.values()), resumed, engine,
                    time.perf_counter() - started, models[1], observer)


def make_and_record(options: UpscaleOptions, plan: Plan, segment: Segment, folder: Path,
                    models: tuple[Interpolator, Colouriser | None],
                    progress: Callable[[int], None] | None = None,
                    cancel: Callable[[], bool] | None = None, node: str = "") -> SegmentResult:
    """Make one segment and record it as finished (in whatever process or node runs it)."""
    path = segment_path(folder, segment.number, options)
    result = make_segment(options, plan, segment, path, models, progress, cancel, node)
    record(path, result)
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
    paths = [segment_path(folder, s.number, options) for s in plan.segments]
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


def _summary(options: UpscaleOptions, plan: Plan, results: list[SegmentResult], resumed: int,
             engine: Interpolator, seconds: float, colouriser: Colouriser | None,
             observer: Observer) -> UpscaleResult:
    """The run's result as a single pass reports it, with the warnings it would give."""
    total = sum(r.frames_in for r in results)
    # From the planning pass where it decoded, else as the segments saw them (their short
    # contexts may count a frame or a packet twice).
    repeats = max(plan.repeats, sum(r.repeats_seen for r in results))
    damaged = max(plan.damaged, sum(r.damaged for r in results))
    if not options.dedup and (hint := repeat_hint(repeats, total)):
        observer.warning(hint)
    if damaged:
        observer.warning(f"{damaged} damaged video packet(s) skipped: their frames are "
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
        segments=len(plan.segments), resumed=resumed,
        nodes=tuple(sorted({r.node for r in results if r.node})))
