"""The catalogue's own errors, so that it needs nothing from the engine above it.

A `CatalogError` carries a message and a hint (`tui.errors.HintedError`), as the engine's
`EngineError` does: where the engine calls into the catalogue (loading the default model) it
turns one into the other with the same message and hint, so the user reads the same words
whichever layer failed.
"""

from __future__ import annotations

from tui.errors import HintedError


class CatalogError(HintedError):
    """A catalogue failure the user can act on. `hint` says what to try."""


class FactsError(CatalogError):
    """The model cannot be described at all (no or unreadable config): the picker lists it
    with this message instead of crashing."""
