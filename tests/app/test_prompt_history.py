"""The prompt box: Up/Down history that leaves multi-line editing alone, and $EDITOR."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from tui.widgets.prompt import PromptInput, editor_command


class PromptHost(App[None]):
    """Just the prompt box, at the bottom like in the app; records what was sent."""

    def __init__(self, history: list[str] | None = None) -> None:
        super().__init__()
        self.sent: list[str] = []
        self._history = history or []

    def compose(self) -> ComposeResult:
        yield PromptInput(id="prompt")

    def on_mount(self) -> None:
        prompt = self.query_one(PromptInput)
        prompt.set_history(self._history)
        prompt.focus()

    def on_prompt_input_submitted(self, event: PromptInput.Submitted) -> None:
        self.sent.append(event.text)


def prompt_of(app: App) -> PromptInput:
    return app.query_one(PromptInput)


async def test_up_and_down_walk_the_chats_messages_and_restore_the_draft() -> None:
    app = PromptHost(["first question", "second question"])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"draft")
        await pilot.press("up")
        assert prompt_of(app).text == "second question"
        await pilot.press("up")
        assert prompt_of(app).text == "first question"
        await pilot.press("up")  # nothing older: stays
        assert prompt_of(app).text == "first question"
        await pilot.press("down", "down")
        assert prompt_of(app).text == "draft"  # the unsent draft comes back


async def test_prompts_sent_in_this_run_join_the_history_newest_last() -> None:
    app = PromptHost(["old one"])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"new one", "enter")
        assert app.sent == ["new one"]
        await pilot.press("up")
        assert prompt_of(app).text == "new one"
        await pilot.press("up")
        assert prompt_of(app).text == "old one"
        # a new chat: its history is empty, but what was sent in this run is still there
        prompt_of(app).set_history([])
        prompt_of(app).clear()
        await pilot.press("up")
        assert prompt_of(app).text == "new one"


async def test_up_inside_a_multiline_draft_moves_the_cursor_not_the_history() -> None:
    app = PromptHost(["earlier"])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"line one", "ctrl+j", *"line two")
        prompt = prompt_of(app)
        await pilot.press("up")
        assert prompt.text == "line one\nline two"  # the draft is intact
        assert prompt.cursor_location[0] == 0  # only the cursor moved up
        await pilot.press("up")  # now on the first line: history
        assert prompt.text == "earlier"
        await pilot.press("down")
        assert prompt.text == "line one\nline two"


async def test_a_recalled_multiline_entry_can_be_edited_then_browsing_goes_on() -> None:
    app = PromptHost(["a\nb\nc", "last"])
    async with app.run_test(size=(80, 24)) as pilot:
        prompt = prompt_of(app)
        await pilot.press("up", "up")
        assert prompt.text == "a\nb\nc" and prompt.cursor_location[0] == 0
        await pilot.press("down")  # inside the entry: moves the cursor
        assert prompt.text == "a\nb\nc" and prompt.cursor_location[0] == 1
        await pilot.press("end", *"!")  # edit the middle line
        await pilot.press("down", "down")  # to the last line, then to the newer entry
        assert prompt.text == "last"
        await pilot.press("up")
        assert prompt.text == "a\nb!\nc"  # the edit was kept while browsing
        await pilot.press("enter")
        assert app.sent == ["a\nb!\nc"]


async def test_empty_history_leaves_up_and_down_to_the_cursor() -> None:
    app = PromptHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"abc", "up", "down")
        assert prompt_of(app).text == "abc"


def write_editor(tmp_path: Path, body: str) -> Path:
    """An 'editor' that records the draft it was given and writes known text instead."""
    script = tmp_path / "fake-editor"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys, pathlib\n"
        "p = pathlib.Path(sys.argv[-1])\n"
        f"pathlib.Path({str(tmp_path / 'seen.txt')!r}).write_text(p.read_text())\n"
        f"p.write_text({body!r})\n"
        "sys.exit(int(sys.argv[1]) if len(sys.argv) > 2 else 0)\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


async def test_ctrl_o_edits_the_draft_in_the_editor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", str(write_editor(tmp_path, "from the editor\nline 2\n")))
    app = PromptHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"my draft", "ctrl+o")
        await pilot.pause()
        assert (tmp_path / "seen.txt").read_text() == "my draft"
        assert prompt_of(app).text == "from the editor\nline 2"  # final newline dropped
        assert app.sent == []  # back in the box to review, not sent
        await pilot.press("enter")
        assert app.sent == ["from the editor\nline 2"]


async def test_a_failing_editor_keeps_the_draft_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = write_editor(tmp_path, "should not appear")
    monkeypatch.setenv("VISUAL", f"{script} 3")  # exits 3, like vi after :cq
    app = PromptHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"keep me", "ctrl+o")
        await pilot.pause()
        assert prompt_of(app).text == "keep me"
        assert any("exited with 3" in n.message for n in app._notifications)
    monkeypatch.setenv("VISUAL", str(tmp_path / "no-such-editor"))
    app = PromptHost()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"still here", "ctrl+o")
        await pilot.pause()
        assert prompt_of(app).text == "still here"
        assert any("Cannot start" in n.message for n in app._notifications)


def test_editor_choice_prefers_visual_then_editor_then_vi() -> None:
    assert editor_command({"VISUAL": "code -w", "EDITOR": "nano"}) == ["code", "-w"]
    assert editor_command({"EDITOR": "nano"}) == ["nano"]
    assert editor_command({}) == ["vi"]
