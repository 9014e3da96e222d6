"""session_load_scaling: does opening a long chat cost linear time, and is it quick?

Sessions of 100 and 1,000 messages (user questions, Markdown replies with lists and code) are
written with the real `SessionStore` (save times reported), then opened the way
`tchat --resume PATH` does: `TchatApp(LaunchConfig(resume=...))` with a fake backend, under
`run_test`, timed from creating the app until every message is mounted and a frame has been
drawn (a long chat mounts only its last `SHOW_LAST` messages, older ones as the user scrolls
up: tui/widgets/conversation.py). The fixed cost of an app with an empty chat, measured the
same way, is subtracted before dividing by the message count. Goals: 1,000-message cost per
message <= 1.5x the 100-message one, and the 1,000-message chat interactive within 1 s.

Branches (tui/store/tree.py): the same 1,000-message path with every reply regenerated twice
and every tenth question edited with four later turns of its own (1,250 more messages kept in
the file), opened the same way and compared with the linear 1,000-message chat (goal <= 1.2x:
the file is over twice as long, the screen the same; the median of paired runs); then scrolling
up (three earlier batches, Home) on each, and switching a version halfway up the path
(information). Five repetitions (three with --quick).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import tui.app
from bench import Result
from bench._common import Run, median, spread
from tui.app import TchatApp
from tui.engine.fake import FakeBackend
from tui.launch import LaunchConfig
from tui.store import SessionStore, tree
from tui.store.session import Message, ReplyStats, Session
from tui.widgets.conversation import SHOW_LAST

NAME = "session_load_scaling"
SMALL, LARGE = 100, 1000

REPLY = (
    "Sure. Here are the steps:\n\n- open the file\n- read it line by line\n- close it\n\n"
    "```python\nwith open(path) as f:\n    for line in f:\n        print(line)\n```\n\n"
    "That is all there is to it."
)


class BenchApp(TchatApp):
    CSS_PATH = str(Path(tui.app.__file__).with_name(str(TchatApp.CSS_PATH)))


def make_session(messages: int) -> Session:
    session = Session(title=f"{messages} messages")
    for i in range(messages // 2):
        session.messages.append(Message("user", f"Question {i}: how do I read a file?"))
        session.messages.append(Message("assistant", REPLY, stats=ReplyStats(new_tokens=60)))
    return session


def make_branched(messages: int) -> Session:
    """`make_session(messages)`'s path, each reply with two older versions, and every tenth
    question with an edited version followed by four turns of its own."""
    session = make_session(messages)
    session.title = f"{messages} messages, branched"
    tree.ensure_ids(session)
    made = 0

    def add(role: str, content: str, parent: str | None, stats: ReplyStats | None = None) -> str:
        nonlocal made
        made += 1
        message = Message(role, content, stats=stats, id=f"b{made}", parent=parent)
        session.branches.append(message)
        return message.id

    for i, m in enumerate(session.messages):
        parent = session.messages[i - 1].id if i else None
        if m.role == "assistant":
            for v in range(2):
                add("assistant", f"Version {v}. {REPLY}", parent, m.stats)
        elif i % 20 == 0:
            at = add("user", f"{m.content} (edited)", parent)
            for k in range(4):
                at = add(("assistant", "user")[k % 2], REPLY if k % 2 == 0 else "And then?", at)
    assert tree.problem(session) is None
    return session


def _load_ms(folder: Path, path: Path) -> float:
    started = time.perf_counter()
    SessionStore(folder).load(path)
    return (time.perf_counter() - started) * 1000


async def _open(
    path: Path | None, sessions: Path, expect: int, scroll: bool = False
) -> tuple[float, float, float]:
    """Seconds from creating the app to `expect` messages mounted and a frame drawn; with
    `scroll`, also the seconds three earlier batches take to show (Home), and a version
    switch halfway up the path."""
    started = time.perf_counter()
    launch = LaunchConfig(resume=str(path) if path else None, sessions_dir=sessions)
    app = BenchApp(launch, backend=FakeBackend())
    scrolled = switched = 0.0
    async with app.run_test(size=(120, 40)) as pilot:
        deadline = started + 120
        while len(app.chat_screen.conversation.views()) < expect:
            if time.perf_counter() > deadline:
                raise RuntimeError(
                    f"only {len(app.chat_screen.conversation.views())} of {expect} mounted"
                )
            await asyncio.sleep(0.005)
        await pilot.pause()  # one refresh: the chat is on screen and keys are handled
        elapsed = time.perf_counter() - started
        if scroll:
            t = time.perf_counter()
            for _ in range(3):
                await app.chat_screen.conversation.show_earlier()
            await pilot.pause()
            scrolled = time.perf_counter() - t
            views = app.chat_screen.conversation.views()
            view = next((v for v in views if app.chat_screen.chat.versions(v.message)[1] > 1), None)
            if view is not None:
                t = time.perf_counter()
                app.chat_screen.chat.switch_version(view.message, -1)
                await app.chat_screen.conversation.sync(app.chat_screen.session)
                await pilot.pause()
                switched = time.perf_counter() - t
    return elapsed, scrolled, switched


def run(run: Run) -> list[Result]:
    reps = run.reps(5, 3)
    totals: dict[int, list[float]] = {0: [], SMALL: [], LARGE: []}
    saves: dict[int, list[float]] = {SMALL: [], LARGE: []}
    branched: dict[str, list[float]] = {k: [] for k in ("open", "scroll", "lin_scroll", "switch")}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "sessions"
        store = SessionStore(folder)
        paths: dict[int, Path] = {}
        for size in (SMALL, LARGE):
            session = make_session(size)
            for _ in range(reps):
                started = time.perf_counter()
                paths[size] = store.save(session)
                saves[size].append((time.perf_counter() - started) * 1000)
        tree_session = make_branched(LARGE)
        started = time.perf_counter()
        tree_path = store.save(tree_session)
        tree_save_ms = (time.perf_counter() - started) * 1000
        tree_bytes, linear_bytes = tree_path.stat().st_size, paths[LARGE].stat().st_size
        # What reading the file costs alone (parse and checks): the part branches add.
        read_ms = {
            name: median([_load_ms(folder, p) for _ in range(5)])
            for name, p in (("tree", tree_path), ("linear", paths[LARGE]))
        }
        # A long chat mounts only its last SHOW_LAST messages (older ones on scrolling up).
        shown = {size: min(size, SHOW_LAST) for size in (SMALL, LARGE)}
        asyncio.run(_open(paths[SMALL], folder, shown[SMALL]))  # warm-up: imports, CSS
        for _ in range(reps):
            totals[0].append(asyncio.run(_open(None, folder, 0))[0])
            for size in (SMALL, LARGE):
                opened, scrolled, _ = asyncio.run(
                    _open(paths[size], folder, shown[size], scroll=size == LARGE)
                )
                totals[size].append(opened)
                if size == LARGE:
                    branched["lin_scroll"].append(scrolled)
            opened, scrolled, switched = asyncio.run(
                _open(tree_path, folder, shown[LARGE], scroll=True)
            )
            branched["open"].append(opened)
            branched["scroll"].append(scrolled)
            branched["switch"].append(switched)
    base = median(totals[0])
    per_msg = {size: (median(totals[size]) - base) / size for size in (SMALL, LARGE)}
    ratio = per_msg[LARGE] / per_msg[SMALL]
    return [
        Result(
            NAME,
            ratio,
            "x",
            goal=("<=", 1.5),
            detail=(
                f"per message: {LARGE} {per_msg[LARGE] * 1000:.2f} ms, {SMALL} "
                f"{per_msg[SMALL] * 1000:.2f} ms (empty-chat app {base:.2f} s subtracted); "
                f"median of {reps}"
            ),
        ),
        Result(
            "session_load_1000",
            median(totals[LARGE]),
            "s",
            goal=("<=", 1.0),
            detail=(
                f"app start to a {LARGE}-message chat on screen: "
                f"{spread(totals[LARGE], '{:.2f}')} s"
            ),
        ),
        Result(
            "session_load_branched",
            # Paired: each branched open against the linear one just before it (a busy host
            # moves single runs by more than the difference).
            median([b / a for a, b in zip(totals[LARGE], branched["open"], strict=True)]),
            "x",
            goal=("<=", 1.2),
            detail=(
                f"{LARGE}-message path + {len(tree_session.branches)} messages in branches "
                f"({tree_bytes // 1024} KB vs {linear_bytes // 1024} KB linear): opened in "
                f"{spread(branched['open'], '{:.2f}')} s vs linear "
                f"{spread(totals[LARGE], '{:.2f}')} s; three earlier batches "
                f"{median(branched['scroll']):.2f} s vs {median(branched['lin_scroll']):.2f} s; "
                f"a version switch halfway up {median(branched['switch']):.2f} s; the file "
                f"read in {read_ms['tree']:.0f} ms vs {read_ms['linear']:.0f} ms, saved in "
                f"{tree_save_ms:.0f} ms"
            ),
        ),
        Result(
            "session_save",
            median(saves[LARGE]),
            "ms",
            detail=(
                f"SessionStore.save of {LARGE} messages {spread(saves[LARGE], '{:.1f}')} ms, "
                f"{SMALL} messages {spread(saves[SMALL], '{:.1f}')} ms (TOML, fsync'd)"
            ),
        ),
    ]
