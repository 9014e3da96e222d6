"""However the terminal goes away, tchat saves the chat and is gone within a few seconds.

Why: under Textual 8.2.8 a closed terminal could leave tchat alive for good, holding the model
(Textualize/textual#6692; `bench/repro_textual_6692.py` shows it without tchat):

- the driver's writer thread dies at the first write that fails (EIO once the pty is closed),
  and the bounded 30-slot queue in front of it fills: the next write on the UI thread blocks
  forever, typically in App._shutdown -> disable_input -> _disable_mouse_support;
- its input thread reads EOF from the hung-up terminal in a loop, a core at 100% (#6690);
- the kernel sends SIGCONT with SIGHUP, and Textual's SIGCONT handler starts application mode
  again: a second writer thread, more writes into a dead terminal;
- a signal handler added with `loop.add_signal_handler` only runs when the event loop turns,
  so with the UI thread blocked neither SIGHUP nor SIGTERM did anything.

What this does (`install()` runs in cli.main, before Textual or torch is imported):

- SIGHUP and SIGTERM get plain `signal.signal` handlers: they run on the main thread even
  while it is blocked on a lock, and only write a byte to a pipe (no locks, signal-safe);
- a thread sleeps in poll() on the terminal until it hangs up (POLLHUP): a closed terminal is
  noticed with no signal at all and no CPU spent waiting;
- a failed write to the terminal reports it too (tui/safe_driver.py, which also keeps Textual's
  writer thread alive so its queue never fills).

The first of those wakes the watchdog thread, which runs a bounded exit:

1. if the terminal is gone: stop Textual's input thread (no EOF spin) and point fds 1 and 2 at
   /dev/null, so every later write succeeds instead of failing;
2. ask the UI thread to save the chat and exit (what SIGTERM always did); if it has not saved
   within GRACE_S, save from here;
3. `os._exit` as soon as Textual's shutdown is over (not waiting for asyncio.run to join the
   worker threads, which may be importing torch for seconds), or at EXIT_BOUND_S if it never
   finishes: the process is gone after saving, whatever Textual does. A second signal skips
   the wait (after the save, if one is under way).

Whatever happens, the process is gone SAVE_BOUND_S after the trigger at the latest.
Exit status: 0 when the chat is on disk (or there was nothing to save), 1 when saving failed
(a signal in the first fraction of a second, before `install()`, ends it as signals do: 143).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import termios
import threading
import time
from collections.abc import Callable
from typing import Any

GRACE_S = 1.0  # the UI thread saves (it owns the chat); after this the watchdog does
EXIT_BOUND_S = 3.0  # Textual's own shutdown gets until then, counted from the trigger
SAVE_BOUND_S = 4.5  # a save still running then (a hung disk) is abandoned: files are atomic

_SIGNAL, _LOST, _HURRY, _SAVED, _CLOSED = b"S", b"T", b"H", b"D", b"C"

# Undo what Textual's application mode set, for an exit that skips its shutdown while the
# terminal is still there: kitty keys, alt screen, cursor, focus, mouse, paste, line wrap.
_RESTORE = (
    b"\x1b[<u\x1b[?1049l\x1b[?25h\x1b[?1004l\x1b[?1000l\x1b[?1003l\x1b[?1015l\x1b[?1006l"
    b"\x1b[?2004l\x1b[?7h"
)


def hung_up(fd: int = 0) -> bool:
    """True when `fd`'s terminal has hung up (or the fd is closed); never blocks."""
    poller = select.poll()
    poller.register(fd, 0)  # no events asked for: only POLLHUP, POLLERR, POLLNVAL come back
    try:
        return bool(poller.poll(0))
    except OSError:
        return True


class Lifeline:
    """One per process (`lifeline` below); inert until `install()`."""

    def __init__(self) -> None:
        self.installed = False
        self.reason: str | None = None  # why tchat is leaving; None while it is not
        self.terminal_gone = False
        self.screen_taken = False  # Textual's application mode is on (safe_driver says)
        self.exit_status: int | None = None  # set just before os._exit (tests read the log)
        self._signals = 0
        self._hurry = False
        self._closed = False  # Textual's shutdown has run (safe_driver says)
        self._detached = False
        self._save_fn: Callable[[], object] | None = None
        self._stop_fn: Callable[[], object] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._save_lock = threading.Lock()
        self._saved = threading.Event()
        self._save_ok = True
        self._on_lost: list[Callable[[], object]] = []
        self._tty_attrs: list[Any] | None = None
        self._r = self._w = -1

    # ---- set-up ----------------------------------------------------------------------------

    def install(self) -> None:
        """Main thread, as early as possible: the handlers, the hang-up watch, the watchdog."""
        if self.installed:
            return
        self._r, self._w = os.pipe()
        os.set_blocking(self._w, False)  # a signal handler must never block on it
        with contextlib.suppress(termios.error, OSError):
            self._tty_attrs = termios.tcgetattr(0)
        self.installed = True
        for sig in (signal.SIGHUP, signal.SIGTERM):
            if signal.getsignal(sig) is not signal.SIG_IGN:  # nohup: a closed pty still ends it
                signal.signal(sig, self._on_signal)
        threading.Thread(target=self._watchdog, name="tchat-lifeline", daemon=True).start()
        threading.Thread(target=self._watch_hangup, name="tchat-hangup", daemon=True).start()

    def attach(
        self,
        save: Callable[[], object],
        stop: Callable[[], object],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        """The app is up (UI thread): `save` writes the chat, `stop` ends the app, on `loop`.

        Before this, leaving needs no save (nothing typed yet) and is immediate."""
        if not self.installed:
            return  # tests drive the app in-process: no handlers of ours there
        self._save_fn, self._stop_fn, self._loop = save, stop, loop
        # Textual resumes application mode on any SIGCONT (and the kernel sends one with
        # SIGHUP); suspending on SIGTSTP is no better. Neither once tchat is leaving.
        for sig in (signal.SIGCONT, signal.SIGTSTP):
            previous = signal.getsignal(sig)
            if callable(previous):
                signal.signal(sig, self._unless_leaving(previous))

    def on_terminal_lost(self, callback: Callable[[], object]) -> None:
        """Call `callback` (from the watchdog thread) once the terminal is found gone."""
        self._on_lost.append(callback)

    def _unless_leaving(self, handler: Callable[..., object]) -> Callable[..., None]:
        def guarded(signum: int, frame: object) -> None:
            if self.reason is None:
                handler(signum, frame)

        return guarded

    # ---- triggers (any thread) -------------------------------------------------------------

    def _poke(self, event: bytes) -> None:
        with contextlib.suppress(OSError):
            os.write(self._w, event)

    def _on_signal(self, signum: int, _frame: object) -> None:
        """Signal handler (main thread, between two bytecodes of whatever it was doing)."""
        self._signals += 1
        if self._signals == 1:
            if self.reason is None:
                self.reason = signal.Signals(signum).name
            self._poke(_SIGNAL)
        elif self._saved.is_set() or self._save_fn is None:
            self._exit()  # a second signal: at once, the chat being safe
        else:
            self._poke(_HURRY)  # ... or as soon as the save under way is done

    def terminal_lost(self, why: str) -> None:
        """The terminal is gone (a write failed, it hung up): leave."""
        if not self.installed:
            return
        self.terminal_gone = True
        if self.reason is None:
            self.reason = why
        self._poke(_LOST)

    def app_closed(self) -> None:
        """Textual's shutdown is over (UI thread): when leaving, nothing else is waited for."""
        if self.installed and self.reason is not None:
            self._poke(_CLOSED)

    def _watch_hangup(self) -> None:
        """Sleeps in poll() until the terminal hangs up: no signal needed, no CPU meanwhile."""
        poller = select.poll()
        poller.register(0, 0)  # POLLHUP / POLLERR / POLLNVAL are always reported
        with contextlib.suppress(OSError):
            poller.poll()
        self.terminal_lost("the terminal hung up")

    # ---- the bounded exit (watchdog thread) -------------------------------------------------

    def _watchdog(self) -> None:
        first = os.read(self._r, 1)  # blocks until the first trigger
        start = time.monotonic()
        self._take(first)
        if not self.terminal_gone and hung_up(0):
            self.terminal_gone = True  # a SIGHUP from a closed terminal
        if self.terminal_gone:
            self._detach()
        if self._save_fn is None:
            self._exit()  # the app is not up yet: nothing typed, nothing to save
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: the app has ended
                loop.call_soon_threadsafe(self._graceful)
        self._wait(start + GRACE_S, lambda: self._saved.is_set() or self._hurry)
        if not self._saved.is_set():
            # The UI thread did not get to it (blocked, or the app ended another way).
            threading.Thread(target=self._save, name="tchat-last-save", daemon=True).start()
        self._wait(start + SAVE_BOUND_S, self._saved.is_set)
        self._wait(start + EXIT_BOUND_S, lambda: self._hurry or self._closed)
        self._exit()

    def _take(self, events: bytes) -> None:
        if _LOST in events:
            self.terminal_gone = True
        if _HURRY in events:
            self._hurry = True
        if _CLOSED in events:
            self._closed = True

    def _wait(self, deadline: float, done: Callable[[], bool]) -> None:
        """Until `done()` or `deadline`, taking the events that come meanwhile."""
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            ready, _, _ = select.select([self._r], [], [], left)
            if ready:
                self._take(os.read(self._r, 64))
                if self.terminal_gone:
                    self._detach()  # lost after a SIGTERM began the exit

    def _detach(self) -> None:
        """The terminal is gone: stop reading it, and make every later write a no-op."""
        if self._detached:
            return
        self._detached = True
        for callback in self._on_lost:
            with contextlib.suppress(Exception):
                callback()
        with contextlib.suppress(OSError):
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (1, 2):
                os.dup2(null, fd)
            os.close(null)

    def _graceful(self) -> None:
        """On the UI thread: save, then the app's own way out."""
        self._save()
        if self._stop_fn is not None:
            self._stop_fn()

    def _save(self) -> None:
        with self._save_lock:
            if self._saved.is_set():
                return
            try:
                if self._save_fn is not None:
                    self._save_fn()
            except Exception:  # noqa: BLE001 - leaving anyway; the status says it failed
                self._save_ok = False
            finally:
                self._saved.set()
                self._poke(_SAVED)

    def finish(self) -> None:
        """Main thread, after App.run() returned: when leaving because of a signal or a lost
        terminal, end now, without the interpreter's teardown (which joins threads that may
        be importing torch or loading a model)."""
        if not self.installed:
            return
        if self.reason is None and hung_up(0):
            self.terminal_lost("the terminal hung up")  # e.g. Textual quit on a read error
        if self.reason is None:
            return  # an ordinary quit
        if self._save_fn is not None:
            self._saved.wait(SAVE_BOUND_S)
        self._exit()

    def _exit(self) -> None:
        if self.screen_taken and not self.terminal_gone:
            self._restore_terminal()
        self.exit_status = 0 if self._save_ok and (self._saved.is_set() or not self._save_fn) else 1
        os._exit(self.exit_status)

    def _restore_terminal(self) -> None:
        """Best effort, for a forced exit while the terminal is still there (SIGTERM)."""
        if self._tty_attrs is not None:
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(0, termios.TCSANOW, self._tty_attrs)
        with contextlib.suppress(OSError, ValueError):
            if select.select([], [2], [], 0.2)[1]:  # never block on a terminal that stalls
                os.write(2, _RESTORE)


lifeline = Lifeline()
