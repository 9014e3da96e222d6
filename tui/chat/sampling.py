"""Where each of a chat's generation settings comes from, and what it is.

Four layers, later ones winning: tchat's own defaults, the **model**'s (its
generation_config.json: Qwen3 ships temperature 0.6, top_p 0.95, top_k 20), the user's
**config file** (`[generation]`), and what **this chat** set in F5 (or with the thinking key).
A new chat takes the first three; a setting the chat chose stays its own whatever the model,
and the rest follow the model when another is loaded. The session file records which
settings the chat chose (`settings.chosen`); a file from before that was recorded keeps every
value it holds. No Textual.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from tui.store.session import GenerationSettings, Session

NAMES = tuple(f.name for f in fields(GenerationSettings))
SOURCE_LABELS = {
    "tchat": "tchat's default",
    "model": "from the model",
    "config": "config file",
    "chat": "this chat",
}


class Sampling:
    """A chat's settings: the inherited values, the ones the chat chose, and their sources."""

    def __init__(
        self,
        session: Session,
        config: dict[str, Any] | None = None,
        model: dict[str, Any] | None = None,
    ) -> None:
        self.session = session
        self.config = {k: v for k, v in (config or {}).items() if k in NAMES}
        self.model = dict(model or {})
        # What inheritance last put in each setting: a value that differs from it was set by
        # someone else (a test, a bench, an older code path) and is kept like a chosen one.
        self._inherited = {n: getattr(session.settings, n) for n in NAMES}

    @property
    def chosen(self) -> set[str]:
        chosen = self.session.settings_chosen
        return set(NAMES) if chosen is None else set(chosen)

    def inherited(self) -> dict[str, tuple[Any, str]]:
        """Each setting's value and source without the chat's own choices."""
        base = GenerationSettings()
        out: dict[str, tuple[Any, str]] = {}
        for name in NAMES:
            value, source = getattr(base, name), "tchat"
            if name in self.model:
                value, source = self.model[name], "model"
            if name in self.config:
                value, source = self.config[name], "config"
            if name == "thinking" and value is None:
                source = "model"  # unset: the model's own default (its template's)
            out[name] = (value, source)
        return out

    def use_model(self, defaults: dict[str, Any] | None) -> None:
        """A model was loaded: settings the chat did not choose take its defaults."""
        self.model = dict(defaults or {})
        settings, chosen = self.session.settings, self.chosen
        values = {}
        for name, (value, _source) in self.inherited().items():
            if name in chosen or getattr(settings, name) != self._inherited.get(name):
                continue
            values[name] = value
        self.session.settings = replace(settings, **values)
        self._inherited.update(values)

    def sources(self) -> dict[str, str]:
        """Setting name -> "tchat" | "model" | "config" | "chat"."""
        settings, chosen = self.session.settings, self.chosen
        out = {}
        for name, (value, source) in self.inherited().items():
            own = name in chosen or getattr(settings, name) != self._inherited.get(name, value)
            out[name] = "chat" if own else source
        return out

    def choose(self, settings: GenerationSettings) -> None:
        """F5 saved `settings`: a value that differs from what the model and config file say
        becomes the chat's own; one equal to it (an emptied field) follows them again."""
        old, chosen = self.session.settings, self.chosen
        for name, (value, _source) in self.inherited().items():
            new = getattr(settings, name)
            if new != value:
                if new != getattr(old, name) or name not in chosen:
                    chosen.add(name)
            else:
                chosen.discard(name)
                self._inherited[name] = value
        self.session.settings = settings
        if self.session.settings_chosen is not None or chosen != set(NAMES):
            self.session.settings_chosen = sorted(chosen)
