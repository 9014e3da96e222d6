"""Waiting for the chat screen to be still before a snapshot is taken."""

from __future__ import annotations

from typing import Any


async def settle(pilot: Any) -> None:
    """The chat screen composed, the model loaded and the gauges sampled, then a moment."""
    app = pilot.app
    for _ in range(100):  # the chat screen composes once the app is up
        if app.query("PromptInput"):
            break
        await pilot.pause(0.05)
    app.query_one("PromptInput").cursor_blink = False  # a blinking cursor is a coin toss
    chat = app.chat_screen
    for _ in range(100):
        if chat.model_info is not None and chat.gauges.snapshot is not None:
            break
        await pilot.pause(0.05)
    await pilot.pause(0.3)
