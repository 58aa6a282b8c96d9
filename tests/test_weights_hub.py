"""Weight sets: list, download (against a loopback HTTP server), verify, register, use."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from clips import moving_frames, write_clip
from test_cli import assert_one_line_error, run_cli

from vidfuse.errors import DownloadError
from vidfuse.weights import hub
from vidfuse.weights.download import Expected, fetch, sha256


class Server:
    """Serves files from a folder with HTTP Range support and switchable misbehaviour."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[dict[str, str]] = []
        self.drop_once = False  # close the connection halfway through the first response
        self.delay = 0.0  # seconds to wait before answering
        self.throttle = 0.0  # seconds between 64 KiB chunks
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                """Quiet."""

            def do_GET(self) -> None:
                server.requests.append({"path": self.path,
                                        "range": self.headers.get("Range", "")})
                time.sleep(server.delay)
                # As a proxy it is asked for absolute URLs: serve their file name all the same.
                path = server.root / self.path.rsplit("/", 1)[-1]
                if not path.is_file():
                    self.send_error(404, "Not Found")
                    return
                data = path.read_bytes()
                start = 0
                if self.headers.get("Range", "").startswith("bytes="):
                    start = int(self.headers["Range"][6:].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/"
                                                      f"{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                body = data[start:]
                if server.drop_once:
                    server.drop_once = False
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                for offset in range(0, len(body), 1 << 16):
                    self.wfile.write(body[offset:offset + (1 << 16)])
                    time.sleep(server.throttle)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def gets(self, name: str) -> list[dict[str, str]]:
        return [r for r in self.requests if r["path"] == f"/{name}"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "served"
    root.mkdir()
    shutil.copyfile(hub.resolve(None, "interp"), root / "extra.safetensors")
    running = Server(root)
    yield running
    running.httpd.shutdown()


@pytest.fixture
def cache(tmp_path: Path, server: Server, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache whose local manifest lists 'extra' (real interp weights) on the server."""
    folder = tmp_path / "cache"
    folder.mkdir()
    served = server.root / "extra.safetensors"
    entry = {"name": "extra", "task": "interp", "file": "extra.safetensors",
             "sha256": sha256(served), "size": served.stat().st_size}
    (folder / hub.LOCAL_MANIFEST).write_text(json.dumps({"weights": [entry]}))
    monkeypatch.setenv("VIDFUSE_CACHE", str(folder))
    monkeypatch.setenv("VIDFUSE_WEIGHTS_URL", server.url)
    monkeypatch.delenv("VIDFUSE_OFFLINE", raising=False)
    return folder


def test_list_shows_shipped_and_downloadable_sets(cache: Path) -> None:
    code, output = run_cli("weights", "list")
    assert code == 0, output
    for fragment in ("interp-convlstm", "colour-ae", "extra", "MIT"):
        assert fragment in output


def test_download_verifies_and_the_weights_are_used(cache: Path, server: Server,
                                                    tmp_path: Path) -> None:
    code, output = run_cli("weights", "download", "extra")
    assert code == 0, output
    assert sha256(cache / "extra.safetensors") == sha256(server.root / "extra.safetensors")
    assert not list(cache.glob("*.part"))
    code, output = run_cli("weights", "path", "extra")
    assert output.strip() == str(cache / "extra.safetensors")
    clip = write_clip(tmp_path / "in.mkv", moving_frames(6, 64, 96))
    code, output = run_cli("upscale", clip, "--out", tmp_path / "out.mkv", "--engine",
                           "convlstm", "--weights", "extra")
    assert code == 0, output
    code, output = run_cli("weights", "verify")
    assert code == 0 and "extra: ok" in output
    assert run_cli("weights", "remove", "extra")[0] == 0
    assert not (cache / "extra.safetensors").exists()
    code, output = run_cli("weights", "path", "extra")
    assert code == 1 and "vidfuse weights download extra" in output
    code, output = run_cli("weights", "remove", "colour-ae")
    assert code == 2
    assert_one_line_error(output, "ships inside the package")


def test_checksum_mismatch_deletes_the_file(cache: Path, server: Server) -> None:
    manifest = json.loads((cache / hub.LOCAL_MANIFEST).read_text())
    (server.root / "extra.safetensors").write_bytes(b"\0" * manifest["weights"][0]["size"])
    code, output = run_cli("weights", "download", "extra")
    assert code != 0
    assert_one_line_error(output, "does not match its manifest")
    assert list(cache.glob("extra*")) == [cache / "extra.safetensors.lock"]


def test_dropped_connection_resumes_with_range(cache: Path, server: Server) -> None:
    server.drop_once = True
    code, output = run_cli("weights", "download", "extra")
    assert code == 0, output
    ranges = [r["range"] for r in server.gets("extra.safetensors")]
    assert ranges[0] == "" and ranges[1].startswith("bytes=") and ranges[1] != "bytes=0-"
    assert run_cli("weights", "verify")[0] == 0


def test_downloads_go_through_the_proxy_from_the_environment(
        cache: Path, server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDFUSE_WEIGHTS_URL", "http://weights.example.invalid/sets")
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, server.url)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    code, output = run_cli("weights", "download", "extra")
    assert code == 0, output
    assert server.requests[0]["path"] == "http://weights.example.invalid/sets/extra.safetensors"


def test_missing_file_is_not_retried(cache: Path, server: Server) -> None:
    (server.root / "extra.safetensors").unlink()
    code, output = run_cli("weights", "download", "extra")
    assert code != 0
    assert_one_line_error(output, "HTTP 404")
    assert len(server.gets("extra.safetensors")) == 1


def test_slow_server_times_out(server: Server, tmp_path: Path) -> None:
    server.delay = 2.0
    served = server.root / "extra.safetensors"
    with pytest.raises(DownloadError, match="after 2 attempts"):
        fetch(f"{server.url}/extra.safetensors", tmp_path / "x.safetensors",
              Expected(sha256(served), served.stat().st_size), timeout=0.3, retries=1,
              backoff=0.0)


def test_offline_mode_says_what_is_missing(cache: Path, server: Server, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDFUSE_OFFLINE", "1")
    clip = write_clip(tmp_path / "in.mkv", moving_frames(4, 64, 96))
    code, output = run_cli("upscale", clip, "--out", tmp_path / "out.mkv", "--engine",
                           "convlstm", "--weights", "extra")
    assert code == 2
    assert_one_line_error(output, "VIDFUSE_OFFLINE is set")
    assert "extra.safetensors" in output and not server.requests


def test_cache_location_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIDFUSE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/x/cache")
    assert hub.cache_dir() == Path("/x/cache/vidfuse")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert hub.cache_dir() == Path.home() / ".cache" / "vidfuse"
    monkeypatch.setenv("VIDFUSE_CACHE", "/elsewhere")
    assert hub.cache_dir() == Path("/elsewhere")


def test_concurrent_downloads_share_one_transfer(cache: Path, server: Server) -> None:
    server.throttle = 0.02
    command = [sys.executable, "-m", "vidfuse", "weights", "download", "extra"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert len(server.gets("extra.safetensors")) == 1
    assert sha256(cache / "extra.safetensors") == sha256(server.root / "extra.safetensors")


def test_corrupt_cached_file_fails_verify(cache: Path) -> None:
    assert run_cli("weights", "download", "extra")[0] == 0
    with (cache / "extra.safetensors").open("r+b") as handle:
        handle.seek(100)
        handle.write(b"corrupt")
    code, output = run_cli("weights", "verify")
    assert code == 1 and "extra: MISMATCH" in output


def test_pickle_weights_are_refused(tmp_path: Path) -> None:
    evil = tmp_path / "evil.safetensors"
    torch.save({"x": torch.zeros(1)}, evil)
    clip = write_clip(tmp_path / "in.mkv", moving_frames(4, 64, 96))
    code, output = run_cli("upscale", clip, "--out", tmp_path / "out.mkv", "--engine",
                           "convlstm", "--weights", evil)
    assert code == 2
    assert_one_line_error(output, "never loads pickled weights")


def test_trained_weights_register_and_load_by_name(cache: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine.safetensors"
    shutil.copyfile(hub.resolve(None, "colour"), mine)
    code, output = run_cli("weights", "register", "my-colour", mine, "--task", "interp")
    assert code == 2
    assert_one_line_error(output, "RecurrentFlowRefiner")  # wrong network for the task
    code, output = run_cli("weights", "register", "my-colour", mine, "--task", "colour")
    assert code == 0, output
    assert "my-colour" in run_cli("weights", "list")[1]
    clip = write_clip(tmp_path / "in.mkv", moving_frames(9, 64, 96))
    code, output = run_cli("upscale", clip, "--out", tmp_path / "out.mkv", "--keyframe-every",
                           "4", "--colouriser", "ae", "--colour-weights", "my-colour",
                           "--adapt", "0")
    assert code == 0, output
    code, output = run_cli("upscale", clip, "--out", tmp_path / "o2.mkv", "--engine", "flow",
                           "--weights", "extra")
    assert code == 2
    assert_one_line_error(output, "has no weights to replace")


def test_a_broken_manifest_is_a_weights_fault_not_a_usage_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / hub.LOCAL_MANIFEST).write_text('{"weights": [{"name": "half"')
    monkeypatch.setenv("VIDFUSE_CACHE", str(tmp_path))
    code, output = run_cli("weights", "list")
    assert code == 1
    assert_one_line_error(output, "is malformed")


def test_resolve_refuses_a_file_that_no_longer_matches_its_manifest(cache: Path) -> None:
    from vidfuse.errors import WeightsError

    path = hub.resolve("extra", "interp")  # downloaded and verified
    assert hub.resolve(None, "interp").name == "interp-convlstm.safetensors"
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")  # same size, other bytes
    with pytest.raises(WeightsError, match="does not match its manifest"):
        hub.resolve("extra", "interp")
