"""Downloading one file safely: temporary name, resume, retries, checksum, lock, rename.

What users of torch.hub and huggingface_hub run into, answered: an interrupted download
resumes with an HTTP Range request instead of starting over; transient failures (timeouts,
dropped connections, 5xx, 429) are retried with exponential backoff, permanent ones (404,
checksum mismatch) are not; the file appears under its final name only once its size and
sha256 match, so a half-written file is never loaded; concurrent downloads of the same file
(two processes, a batch job) wait on one lock instead of corrupting each other. Proxies come
from the standard environment variables (urllib reads HTTP_PROXY, HTTPS_PROXY, NO_PROXY).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from vidfuse.errors import DownloadError

_CHUNK = 1 << 16


@dataclass(frozen=True)
class Expected:
    """What the file must be: from the manifest."""

    sha256: str
    size: int


Progress = Callable[[int, int], None]  # (bytes so far, total bytes)


def fetch(url: str, target: Path, expected: Expected, timeout: float = 30.0,
          retries: int = 4, backoff: float = 1.0, progress: Progress | None = None) -> Path:
    """Download ``url`` to ``target`` (verified), resuming from ``target``.part if present."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.with_name(target.name + ".lock")):
        if target.exists() and _matches(target, expected):
            return target  # another process finished it while we waited for the lock
        partial = target.with_name(target.name + ".part")
        for attempt in range(retries + 1):
            try:
                _transfer(url, partial, expected.size, timeout, progress)
                break
            except urllib.error.HTTPError as exc:
                if exc.code == 416:  # the partial file is already whole (or wrong): recheck
                    break
                if exc.code not in (408, 429) and exc.code < 500:
                    raise DownloadError(f"cannot download {url}: HTTP {exc.code} "
                                        f"{exc.reason}") from None
                reason = f"HTTP {exc.code}"
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                reason = str(getattr(exc, "reason", exc)) or type(exc).__name__
            if attempt == retries:
                raise DownloadError(f"cannot download {url} after {retries + 1} attempts: "
                                    f"{reason} (a later run resumes where this one stopped)")
            time.sleep(backoff * 2 ** attempt)
        if not _matches(partial, expected):
            partial.unlink(missing_ok=True)
            raise DownloadError(f"{url} does not match its manifest (size {expected.size}, "
                                f"sha256 {expected.sha256[:12]}…); the bad file was deleted")
        partial.replace(target)
        return target


def _transfer(url: str, partial: Path, total: int, timeout: float,
              progress: Progress | None) -> None:
    have = partial.stat().st_size if partial.exists() else 0
    if have >= total:
        return
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    # A fresh opener reads the proxy variables now (urlopen's global one keeps the first).
    with urllib.request.build_opener().open(request, timeout=timeout) as response:
        if have and response.status != 206:  # the server ignored Range: start again
            have = 0
        with partial.open("ab" if have else "wb") as out:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                out.write(chunk)
                have += len(chunk)
                if progress is not None:
                    progress(have, total)
    if have < total:
        raise ConnectionError(f"connection closed at {have} of {total} bytes")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _matches(path: Path, expected: Expected) -> bool:
    return path.stat().st_size == expected.size and sha256(path) == expected.sha256


@contextmanager
def _locked(lock: Path) -> Iterator[None]:
    """An exclusive advisory lock held for the whole download (released on crash, too)."""
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            os.utime(lock)
