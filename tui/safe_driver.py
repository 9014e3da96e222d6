"""Textual's Linux driver, kept from hanging when the terminal goes away (tui/lifeline.py).

Textual 8.2.8 writes to the terminal from a writer thread fed by a 30-slot queue; the thread
dies at the first write that fails (EIO on a closed pty) and every write after the 30th then
blocks the UI thread forever (Textualize/textual#6692). Here the thread writes through
`TerminalOut`, which reports the first failure to the lifeline and drops every later write, so
the thread keeps emptying its queue and no write ever blocks. The lifeline, once it knows the
terminal is gone, sets the driver's `exit_event`, which ends the input thread's loop (it would
otherwise spin on EOF, #6690) and makes `disable_input` skip its writes.

Both `_file` (the file the writer thread gets) and `exit_event` are Textual internals: the
guard tests in tests/unit/test_lifeline.py fail loudly if either changes. Remove this module
when Textual fixes the hang (tests/robustness/test_dropped_terminal.py says when).
"""

from __future__ import annotations

from typing import IO, Any

from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver

from tui.lifeline import lifeline


class TerminalOut:
    """A text file that never raises: the first failed write or flush calls `on_lost` once,
    and from then on everything is dropped."""

    def __init__(self, file: IO[str], on_lost: Any) -> None:
        self._file = file
        self._on_lost = on_lost
        self.lost = False

    def _lose(self) -> None:
        if not self.lost:
            self.lost = True
            self._on_lost()

    def write(self, text: str) -> int:
        if not self.lost:
            try:
                return self._file.write(text)
            except BlockingIOError:
                return 0  # someone made the terminal non-blocking: a dropped frame, not a loss
            except (OSError, ValueError):
                self._lose()
        return len(text)

    def flush(self) -> None:
        if not self.lost:
            try:
                self._file.flush()
            except BlockingIOError:
                pass
            except (OSError, ValueError):
                self._lose()

    def fileno(self) -> int:
        return self._file.fileno()

    def isatty(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


class SafeLinuxDriver(LinuxDriver):
    """LinuxDriver whose output survives a dead terminal; tells the lifeline what it does."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        assert self._file is not None  # sys.__stderr__: Textual needs one too
        self._file = TerminalOut(  # type: ignore[assignment]
            self._file, lambda: lifeline.terminal_lost("writing to the terminal failed")
        )
        lifeline.on_terminal_lost(self.exit_event.set)

    def start_application_mode(self) -> None:
        lifeline.screen_taken = True
        super().start_application_mode()

    def stop_application_mode(self) -> None:
        super().stop_application_mode()
        lifeline.screen_taken = False

    def close(self) -> None:
        """The last step of App._shutdown: what follows (asyncio.run joining the worker
        threads, which may be importing torch for seconds) need not be waited for."""
        super().close()
        lifeline.app_closed()


def guard(driver_class: type[Driver]) -> type[Driver]:
    """The driver tchat runs on: Textual's choice, with LinuxDriver swapped for the safe one
    (a driver picked through TEXTUAL_DRIVER, or another platform's, is left alone)."""
    return SafeLinuxDriver if driver_class is LinuxDriver else driver_class
