"""`vidfuse batch`: every video under a folder, on one machine (``--jobs``) or a Ray cluster.

Each file is one `upscale` call with the same options; its output mirrors the input's place
in the tree. Outputs are written atomically, so a finished file exists under its final name
and an interrupted one never does: a re-run skips the first kind and redoes the second. A
failing file is recorded and the rest go on. Workers load the models once and split the
machine's cores between them so parallel jobs do not fight over threads.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from vidfuse.api import Observer, UpscaleOptions, upscale
from vidfuse.errors import Cancelled, UsageError, VidfuseError
from vidfuse.video.atomic import TEMP_MARKER
from vidfuse.video.lock import OutputBusy, output_lock
from vidfuse.video.writer import CONTAINERS, check_encode_settings
from vidfuse.workers import models_for, share_cores

DEFAULT_PATTERNS = ("*.mp4", "*.mkv", "*.mov", "*.avi", "*.webm", "*.m4v", "*.mpg", "*.mpeg",
                    "*.ts", "*.mts", "*.wmv", "*.flv", "*.y4m")


@dataclass(frozen=True)
class FileResult:
    """One row of the summary and of ``--report``."""

    file: str
    output: str
    # "done", "skipped" (finished before), "busy" (another run is making it), "failed",
    # "cancelled"
    status: str
    frames: int = 0
    frames_out: int = 0
    seconds: float = 0.0
    fps: float = 0.0
    error: str = ""
    segments: int = 0  # made in this many segments (vidfuse.segmented); 0: one pass
    nodes: tuple[str, ...] = ()  # the Ray nodes that made its segments


class BatchInterrupted(Cancelled):
    """A batch was stopped part-way: ``results`` holds every file's outcome, finished ones
    as they ended and the rest "cancelled"."""

    def __init__(self, results: list[FileResult]) -> None:
        done = sum(r.status == "done" for r in results)
        super().__init__(f"interrupted after {done} of {len(results)} file(s)")
        self.results = results


def plan(input_dir: Path, output_dir: Path, patterns: Sequence[str] = DEFAULT_PATTERNS,
         recursive: bool = False, extension: str | None = None) -> list[tuple[Path, Path]]:
    """(input, output) pairs in a stable order; outputs mirror the input tree."""
    if not input_dir.is_dir():
        raise UsageError(f"batch input is not a directory: {input_dir}")
    if output_dir.resolve() == input_dir.resolve():
        raise UsageError("--out must differ from the input directory (inputs are never "
                         "overwritten)")
    if extension is not None and f".{extension.lstrip('.')}" not in CONTAINERS:
        raise UsageError(f"--ext must be one of {', '.join(sorted(CONTAINERS))}")
    found: set[Path] = set()
    for pattern in patterns:
        found.update(input_dir.rglob(pattern) if recursive else input_dir.glob(pattern))
    pairs = []
    for source in sorted(p for p in found if p.is_file() and TEMP_MARKER not in p.name):
        if output_dir.resolve() in source.resolve().parents:
            continue  # an output folder inside the input tree is not input
        suffix = f".{extension.lstrip('.')}" if extension else (
            source.suffix.lower() if source.suffix.lower() in CONTAINERS else ".mkv")
        pairs.append((source, (output_dir / source.relative_to(input_dir)).with_suffix(suffix)))
    if not pairs:
        raise UsageError(f"no files matching {' '.join(patterns)} in {input_dir}"
                         + ("" if recursive else " (add --recursive for subfolders)"))
    return pairs


def process_file(template: UpscaleOptions, source: Path, target: Path,
                 observer: Observer | None = None,
                 cancel: threading.Event | None = None) -> FileResult:
    """One file, with the calling process's models (loaded on first use); never raises for
    a bad file (only :class:`Cancelled`, when ``cancel`` is set)."""
    options = dataclasses.replace(template, input=source, output=target, overwrite=True)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with output_lock(target):
            if target.exists() and not template.overwrite:  # another batch finished it
                return FileResult(str(source), str(target), "skipped")
            result = upscale(options, observer, models_for(options), cancel)
    except OutputBusy:  # another run is making it: done once, by that run
        return FileResult(str(source), str(target), "busy")
    except Cancelled:
        raise
    except VidfuseError as exc:
        return FileResult(str(source), str(target), "failed", error=str(exc))
    except Exception as exc:  # a bug or a library failure on this file: report, go on
        return FileResult(str(source), str(target), "failed",
                          error=f"{type(exc).__name__}: {exc}")
    return FileResult(str(source), str(target), "done", result.frames_in, result.frames_out,
                      result.seconds, result.processing_fps, segments=result.segments,
                      nodes=result.nodes)


def run_batch(template: UpscaleOptions, pairs: Sequence[tuple[Path, Path]], jobs: int = 1,
              cluster: str | None = None, overwrite: bool = False,
              on_result: Callable[[FileResult], None] | None = None,
              observer: Observer | None = None,
              cancel: threading.Event | None = None) -> list[FileResult]:
    """Process ``pairs``; results in input order.

    Stopped by ``cancel`` (checked at every frame with ``--jobs 1``, between files
    otherwise) or by Ctrl-C, it raises :class:`BatchInterrupted` carrying every result:
    finished files as they ended, the rest "cancelled"."""
    # The settings are the same for every file: one that cannot work stops the batch at once.
    for target in {target.suffix.lower(): target for _, target in pairs}.values():
        check_encode_settings(template.encode, target)
    results: dict[int, FileResult] = {}
    todo = []
    for index, (source, target) in enumerate(pairs):
        if target.exists() and not overwrite:
            results[index] = FileResult(str(source), str(target), "skipped")
            if on_result:
                on_result(results[index])
        else:
            todo.append(index)
    # Existing outputs were chosen above; one that appears meanwhile (another batch made it)
    # is skipped unless --overwrite, under the output's lock (process_file).
    template = dataclasses.replace(template, overwrite=overwrite)
    runner = (_run_local if cluster is None else _run_ray)
    try:
        for index, result in runner(template, [(i, *pairs[i]) for i in todo], jobs, cluster,
                                    observer, cancel):
            results[index] = result
            if on_result:
                on_result(result)
            if cancel is not None and cancel.is_set():
                raise Cancelled("stopped on request")
    except (KeyboardInterrupt, Cancelled) as stop:
        for index in todo:
            results.setdefault(index, FileResult(str(pairs[index][0]), str(pairs[index][1]),
                                                 "cancelled"))
        raise BatchInterrupted([results[i] for i in range(len(pairs))]) from stop
    return [results[i] for i in range(len(pairs))]


Work = list[tuple[int, Path, Path]]


def _run_local(template: UpscaleOptions, work: Work, jobs: int, cluster: str | None,
               observer: Observer | None, cancel: threading.Event | None
               ) -> Iterator[tuple[int, FileResult]]:
    if jobs <= 1:
        for index, source, target in work:
            yield index, process_file(template, source, target, observer, cancel)
        return
    # spawn, not fork: torch and OpenCV thread pools do not survive a fork safely.
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn"), initializer=share_cores,
                             initargs=(jobs,)) as pool:
        pending: dict[Future[FileResult], int] = {
            pool.submit(process_file, template, source, target): index
            for index, source, target in work}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield pending.pop(future), future.result()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _run_ray(template: UpscaleOptions, work: Work, jobs: int, cluster: str | None,
             observer: Observer | None, cancel: threading.Event | None
             ) -> Iterator[tuple[int, FileResult]]:
    try:
        import ray
    except ImportError:
        raise UsageError("--cluster needs Ray: pip install 'vidfuse[ray]'") from None
    if not ray.is_initialized():
        ray.init(address=cluster, log_to_driver=False)
    gpus = ray.cluster_resources().get("GPU", 0)
    if gpus:  # one GPU per file where the cluster has them; the models move with it
        template = dataclasses.replace(template, device="cuda")
    task = ray.remote(num_cpus=1, num_gpus=1 if gpus else 0, max_retries=0)(process_file)
    # A long file is not one task: this process plans and joins it, and its segments go out
    # as tasks of their own (vidfuse.segmented), one file at a time beside the short ones.
    long = [w for w in work if _is_long(template, w[1], w[2])]
    finished: queue.Queue[tuple[int, FileResult]] = queue.Queue()
    spread = threading.Thread(target=_spread_long_files, daemon=True,
                              args=(dataclasses.replace(template, cluster=cluster), long,
                                    finished, cancel))
    spread.start()
    refs = {task.remote(template, source, target): index
            for index, source, target in work if (index, source, target) not in long}
    waiting = len(long)
    try:
        while refs or waiting:
            while not finished.empty():
                waiting -= 1
                yield finished.get()
            if not refs:
                if waiting:
                    yield finished.get()
                    waiting -= 1
                continue
            done, _ = ray.wait(list(refs), num_returns=1, timeout=0.25)
            for ref in done:
                index = refs.pop(ref)
                try:
                    yield index, ray.get(ref)
                except ray.exceptions.RayError as exc:  # the worker died, not the file
                    _, source, target = next(w for w in work if w[0] == index)
                    yield index, FileResult(str(source), str(target), "failed",
                                            error=f"Ray task failed: {exc}".splitlines()[0])
    except BaseException:
        for ref in refs:
            ray.cancel(ref, force=True)
        raise


def _is_long(template: UpscaleOptions, source: Path, target: Path) -> bool:
    """Whether a file is made in segments (vidfuse.segmented decides by its length)."""
    from vidfuse.segmented import segment_length

    try:
        return segment_length(dataclasses.replace(template, input=source,
                                                   output=target)) is not None
    except VidfuseError:
        return False  # its own task reports what is wrong with it


def _spread_long_files(template: UpscaleOptions, work: Work,
                       finished: queue.Queue[tuple[int, FileResult]],
                       cancel: threading.Event | None) -> None:
    for index, source, target in work:
        try:
            finished.put((index, process_file(template, source, target, cancel=cancel)))
        except Cancelled:
            finished.put((index, FileResult(str(source), str(target), "cancelled")))
