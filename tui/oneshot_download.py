"""The `-p` mode's download: the plan on stderr, `--yes` to go ahead, progress on stderr.

`tchat -m Qwen/Qwen3-8B -p "hi"` on a fresh box must not start a 16 GB download unasked, nor
hang silently while one runs. So before loading a hub model that is not in the cache this
prints what would be fetched (files, size, free disk), refuses unless `--yes` was given (or
the disk is too small), and then shows progress: one line rewritten in place on a terminal, a
plain line every few seconds (and at every file's end) when stderr is a log or a pipe. ctrl+c
stops it with the partial files kept; the next run continues from them.

No Textual: the one-shot mode never starts the app.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TextIO

from tui.models.download import (
    DownloadCancelled,
    DownloadError,
    describe_progress,
    fetch,
    hub_id,
    needs_download,
    plan_download,
)
from tui.models.download_progress import DownloadProgress
from tui.models.units import format_bytes
from tui.text import visible

LOG_EVERY_S = 2.0  # a plain progress line at most this often when stderr is not a terminal


class Refused(Exception):
    """The download did not happen: `message` (with its hint) says why, for stderr."""


def ensure_downloaded(
    model: str,
    yes: bool,
    err: TextIO,
    live: bool,
    say: Callable[[TextIO, str], None],
) -> None:
    """Download `model` first if it is a hub id not fully cached. `live`: stderr is a
    terminal (one rewritten line) rather than a log (plain lines). Raises `Refused`."""
    if not needs_download(model):
        return
    repo = hub_id(model) or model
    try:
        plan = plan_download(repo)
    except DownloadError as exc:
        raise Refused(str(exc)) from None
    for line in plan.summary():
        say(err, line)
    problem = plan.disk_problem()
    if problem:
        raise Refused(f"{problem}\nFree some space (hf cache rm), then run this again.")
    if not yes:
        raise Refused(
            f"{repo} is not downloaded yet: add --yes to download it "
            f"({format_bytes(plan.needed_bytes)} to fetch), or pick a model that is cached."
        )
    show = _Shower(err, live)
    try:
        fetch(plan, show, threading.Event())
    except DownloadError as exc:
        show.clear()
        raise Refused(str(exc)) from None
    except (KeyboardInterrupt, DownloadCancelled):
        show.clear()
        say(err, "download interrupted: the partial files are kept; run again to continue")
        raise
    show.clear()
    say(err, f"{repo} downloaded to {plan.snapshot}")


class _Shower:
    """Progress on stderr: rewritten in place on a terminal, plain lines in a log."""

    def __init__(self, err: TextIO, live: bool) -> None:
        self.err = err
        self.live = live
        self.shown = False
        self._last_line = 0.0
        self._files = -1

    def __call__(self, progress: DownloadProgress) -> None:
        text = visible(describe_progress(progress))
        if self.live:
            self.err.write(f"\r\x1b[K{text[:100]}")
            self.err.flush()
            self.shown = True
            return
        now = time.monotonic()
        file_done = progress.files_done != self._files
        if not file_done and now - self._last_line < LOG_EVERY_S and progress.phase != "done":
            return
        self._files = progress.files_done
        self._last_line = now
        self.err.write(f"tchat: downloading {text}\n")
        self.err.flush()

    def clear(self) -> None:
        if self.shown:
            self.err.write("\r\x1b[K")
            self.err.flush()
            self.shown = False
