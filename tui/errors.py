"""The shape of every error tchat shows the user: what went wrong, and what to try.

Layers that must not import each other raise their own types (the engine's `EngineError`, the
model catalogue's `CatalogError`); both are this, so the app shows them the same way and the
engine can pass a catalogue error on with the same message and hint.
"""

from __future__ import annotations


class HintedError(Exception):
    """A failure the user can act on. `hint` says what to try; the app shows both."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message
