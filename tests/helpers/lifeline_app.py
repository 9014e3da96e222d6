"""A stand-in for tchat around tui/lifeline.py, no Textual: an event loop, a "chat" to save, and
an app whose way out can be made to hang. Run by tests/unit/test_lifeline.py:

    python -m tests.helpers.lifeline_app MODE SAVE_FILE

It prints "up" once attached (or, for `before-attach`, once installed). MODE:
- `normal`: stopping ends the loop; `finish()` then ends the process, as in cli.main;
- `stop-hangs`: the app's way out never finishes (Textual's shutdown blocked for good);
- `wedged`: the UI thread is blocked on a lock forever and never runs the loop again (the
  state Textual 8.2.8 leaves it in, #6692): the save must come from elsewhere;
- `before-attach`: a signal before the app is up.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from pathlib import Path

from tui.lifeline import lifeline


def main(mode: str, save_file: Path) -> None:
    lifeline.install()
    if mode == "before-attach":
        print("up", flush=True)
        time.sleep(60)
        return
    loop = asyncio.new_event_loop()

    def save() -> None:
        save_file.write_text(f"saved by {threading.current_thread().name}")

    def stop() -> None:
        if mode == "stop-hangs":
            threading.Event().wait()  # blocks the loop's thread for good
        loop.stop()

    def up() -> None:
        lifeline.attach(save, stop, loop)
        print("up", flush=True)
        if mode == "wedged":
            lock = threading.Lock()
            lock.acquire()
            lock.acquire()  # as Queue.put on a queue nobody empties

    loop.call_soon(up)
    loop.run_forever()
    lifeline.finish()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
