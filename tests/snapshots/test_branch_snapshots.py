"""Screenshots of branches: a chat whose turns have versions ("‹ 2/3 ›"), and the token
inspector, in the 16-colour ANSI theme and without colour (NO_COLOR).

Without colour the unlikely tokens still stand out: underlined and followed by a dagger; the
token under the cursor is reversed; each alternative has its figure and a bar of blocks.
Update with `--snapshot-update` after a deliberate change and look at the SVGs.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.app.screen_host import ScreenHost
from tests.snapshots.fixed_hardware import FixedProbe
from tests.snapshots.settle import settle
from tui import themes
from tui.app import TchatApp
from tui.engine.fake import FakeBackend
from tui.engine.tokens import TokenChoice, TokenStep
from tui.launch import LaunchConfig
from tui.screens.token_inspector import TokenInspector
from tui.store import SessionStore, tree
from tui.store.session import GenerationSettings, Message, ModelRef, ReplyStats, Session


def branched_chat() -> Session:
    """A question whose reply has three versions (the second shown, written hotter), and an
    edited follow-up question (two versions)."""
    t = "2026-11-24T09:15:{:02d}+00:00"
    model = ModelRef("HuggingFaceTB/SmolLM2-135M-Instruct")
    stats = ReplyStats(20, 9, 0.05, 30.0, 0.3, "end_of_turn")
    s = Session(
        id="20261124-091500-b1b2b3",
        title="Colours",
        created=t.format(0),
        updated=t.format(59),
        settings=GenerationSettings(seed=1),
    )
    s.messages = [
        Message("user", "Name a colour.", created=t.format(1)),
        Message("assistant", "Blue.", created=t.format(2), stats=stats, model=model),
    ]
    tree.cut(s, 1)
    hot = GenerationSettings(temperature=1.2, seed=1)
    s.messages.append(
        Message(
            "assistant",
            "Vermilion, a bright red-orange.",
            created=t.format(3),
            stats=stats,
            model=model,
            settings=hot,
        )
    )
    tree.cut(s, 1)
    s.messages.append(Message("assistant", "Green.", created=t.format(4), stats=stats, model=model))
    tree.switch(s, 1, next(m for m in s.branches if m.content.startswith("Vermilion")))
    s.messages.append(Message("user", "And a darker one?", created=t.format(5)))
    tree.cut(s, 2)
    s.messages.append(Message("user", "And a lighter one?", created=t.format(6)))
    s.messages.append(
        Message("assistant", "Peach.", created=t.format(7), stats=stats, model=model, settings=hot)
    )
    return s


def make_app(tmp_path: Path, theme: str) -> TchatApp:
    path = SessionStore(tmp_path / "s").save(branched_chat())
    launch = LaunchConfig(resume=str(path), sessions_dir=tmp_path / "s", theme=theme)
    return TchatApp(launch, backend=FakeBackend(device="cuda:0"), probe=FixedProbe())  # type: ignore[arg-type]


@pytest.mark.parametrize("no_color", [False, True])
def test_versions_shown_above_their_messages(
    snap_compare, tmp_path: Path, monkeypatch, no_color: bool
) -> None:
    """ANSI theme (and NO_COLOR). You should see 'Name a colour.', then 'Assistant  ‹ 2/3 ›
    SmolLM2-135M-Instruct · temperature 1.2' over 'Vermilion, a bright red-orange.', then
    'You  ‹ 2/2 ›' over 'And a lighter one?' and its reply 'Peach.' (one version: no arrows)."""
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(tmp_path, "ansi")
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)


def _steps() -> list[TokenStep]:
    words = [(" The", 0.62), (" sky", 0.08), (" is", 0.97), (" blue", 0.55), (".", 0.9)]
    steps = []
    for i, (word, p) in enumerate(words):
        chosen = TokenChoice(word.lstrip() if i == 0 else word, math.log(p))
        others = [
            TokenChoice(w, math.log(q))
            for w, q in ((" sea", 0.3), (" grass", 0.05), (" night", 0.02))
        ]
        steps.append(TokenStep(chosen, tuple(sorted([chosen, *others], key=lambda c: -c.logprob))))
    return steps


class ThemedHost(ScreenHost):
    def __init__(self, theme: str) -> None:
        super().__init__(lambda: TokenInspector(_steps(), start=1))
        themes.load_themes().register(self)
        self.theme = theme


@pytest.mark.parametrize("no_color", [False, True])
def test_token_inspector_marks_unlikely_tokens_without_needing_colour(
    snap_compare, monkeypatch, no_color: bool
) -> None:
    """ANSI theme (and NO_COLOR). You should see 'Token alternatives', the text 'The sky† is
    blue.' with 'sky' reversed (the cursor) and underlined with a dagger (8%, unlikely), then
    'Token 2 of 5: ␣sky  8.0%  (unlikely)', and the alternatives with figures and bars:
    ' 30.0% ███░░░░░░░  ␣sea', '  8.0% █░░░░░░░░░  ␣sky   ← the model's pick', '  5.0% ...
    ␣grass', '  2.0% ... ␣night'."""
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(ThemedHost("ansi"), terminal_size=(80, 24))
