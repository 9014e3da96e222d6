"""Screenshots of a reasoning model's thinking and of F5 with the values' sources: at 80x24, in
a truecolor theme, in the 16-colour ANSI theme, and without colour (NO_COLOR).

Without colour the thinking still reads apart from the answer: its header says "Thought for"
(or "Thinking…"), its text is italic behind a bar. Update with `--snapshot-update` after a
deliberate change and look at the SVGs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll

from tests.app.screen_host import ScreenHost
from tests.snapshots.fixed_hardware import FixedProbe
from tests.snapshots.settle import settle
from tui.app import TchatApp
from tui.engine.backend import Thinking
from tui.engine.fake import FakeBackend
from tui.launch import LaunchConfig
from tui.screens.settings import SettingsScreen, ThinkingRow
from tui.store.session import GenerationSettings, Message
from tui.widgets.message_view import MessageView

REPO = Path(__file__).resolve().parent.parent.parent
EXAMPLE = REPO / "sessions" / "example-thinking.toml"


def make_app(tmp_path: Path, theme: str) -> TchatApp:
    launch = LaunchConfig(resume=str(EXAMPLE), sessions_dir=tmp_path / "s", theme=theme)
    return TchatApp(launch, backend=FakeBackend(device="cuda:0"), probe=FixedProbe())  # type: ignore[arg-type]


@pytest.mark.parametrize("theme", ["tchat-dark", "ansi"])
def test_thinking_folded_above_the_answer(snap_compare, tmp_path: Path, theme: str) -> None:
    """You should see the question 'Is 2^31 - 1 prime?', then the reply: a dim italic line
    '▸ Thought for 2.4 s · 141 tokens · t shows it' above the answer (bold number, a Python
    block), and under it '141 thinking + 71 answer tokens · 61.4 tok/s · first token 0.09 s'."""
    assert snap_compare(make_app(tmp_path, theme), terminal_size=(80, 24), run_before=settle)


def test_thinking_opened_without_colour(snap_compare, tmp_path: Path, monkeypatch) -> None:
    """NO_COLOR, ANSI theme. You should see the reply focused and its thinking opened:
    '▾ Thought for 2.4 s · 141 tokens · t folds it', then the three lines of thinking in
    italics behind a thin bar, then the answer."""
    monkeypatch.setenv("NO_COLOR", "1")

    async def open_thinking(pilot) -> None:  # noqa: ANN001
        await settle(pilot)
        view = pilot.app.query(MessageView)[-1]
        view.focus()
        await pilot.press("t")
        await pilot.pause(0.2)
        pilot.app.chat_screen.conversation.scroll_home(animate=False)
        await pilot.pause(0.2)

    app = make_app(tmp_path, "ansi")
    assert snap_compare(app, terminal_size=(80, 24), run_before=open_thinking)


class StreamHost(App[None]):
    """One reply view, fed thinking the way the app feeds a streaming reply."""

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield MessageView(Message("assistant", ""))


def test_thinking_while_it_streams(snap_compare) -> None:
    """You should see 'Assistant', the dim italic header 'Thinking…', and only the last four
    lines of a long thinking (ending '…line 12 of the thinking.') behind a thin bar."""

    async def stream(pilot) -> None:  # noqa: ANN001
        view = pilot.app.query_one(MessageView)
        for i in range(1, 13):
            await view.append(Thinking(f"This is line {i} of the thinking.\n"))
        await pilot.pause(0.2)

    assert snap_compare(StreamHost(), terminal_size=(80, 24), run_before=stream)


SETTINGS = GenerationSettings(temperature=0.6, top_p=0.95, top_k=20, max_new_tokens=2048)
INHERITED = {
    "max_new_tokens": (512, "tchat"),
    "do_sample": (True, "tchat"),
    "temperature": (0.6, "model"),
    "top_p": (0.95, "model"),
    "top_k": (20, "model"),
    "repetition_penalty": (1.1, "config"),
    "seed": (None, "tchat"),
    "thinking": (None, "model"),
}


def test_settings_with_sources_and_the_thinking_switch(snap_compare) -> None:
    """You should see a 'Thinking' switch (on, 'on: it thinks before it answers') under
    Sampling, and beside each value where it comes from: model for temperature, top p and top
    k, chat for max new tokens (2048), config for repetition penalty, tchat for the rest; then
    a note on the sources."""
    row = ThinkingRow(can_switch=True, on=True, default_on=True)
    app = ScreenHost(lambda: SettingsScreen(SETTINGS, "", inherited=INHERITED, thinking=row))
    assert snap_compare(app, terminal_size=(80, 24))


def test_settings_for_a_model_that_cannot_switch(snap_compare) -> None:
    """You should see 'Thinking  on' with no switch and the reason beside it: this model
    always reasons (gpt-oss harmony format)."""
    note = "always reasons (gpt-oss): no off switch"
    row = ThinkingRow(can_switch=False, on=True, default_on=True, note=note)
    app = ScreenHost(lambda: SettingsScreen(SETTINGS, "", inherited=INHERITED, thinking=row))
    assert snap_compare(app, terminal_size=(80, 24))
