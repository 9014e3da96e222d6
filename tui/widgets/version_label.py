"""The line above a message: who wrote it and, for a turn with versions, which one is shown.

"Assistant  ‹ 2/3 ›  SmolLM2-135M-Instruct · temperature 0.7": the arrows are the keys that
switch versions (left / right, or h / l), so they read without colour; a reply among several
says which model and settings wrote it, since that is what tells the versions apart.
"""

from __future__ import annotations

from textual.content import Content

from tui.models.default_model import short_model
from tui.store.session import GenerationSettings, Message
from tui.text import visible

ROLE_LABELS = {"user": "You", "assistant": "Assistant", "system": "System"}


def settings_note(settings: GenerationSettings | None) -> str:
    if settings is None:
        return ""
    if not settings.do_sample:
        return "greedy"
    return f"temperature {settings.temperature:g}"


def role_line(message: Message, shown: int = 1, versions: int = 1) -> Content:
    label = ROLE_LABELS.get(message.role, message.role)
    if versions <= 1:
        return Content(label)
    parts: list[Content | str | tuple[str, str]] = [
        label,
        "  ",
        (f"‹ {shown}/{versions} ›", "bold"),
    ]
    if message.role == "assistant":
        model = short_model(message.model.id) if message.model else ""
        note = " · ".join(x for x in (visible(model), settings_note(message.settings)) if x)
        if note:
            parts += ["  ", (note, "dim")]
    return Content.assemble(*parts)
