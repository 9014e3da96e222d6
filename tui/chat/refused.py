"""The one exception the chat core raises for the user: an action it will not take now.

In a module of its own so every part of the core (core.py, branching.py) can raise it
without importing the others.
"""

from __future__ import annotations

from typing import Literal


class ChatRefused(Exception):
    """An action the chat cannot take now; the text says why, for the user. `severity` is
    "warning" for a refusal, "information" when there is simply nothing to do."""

    def __init__(
        self, message: str, severity: Literal["information", "warning"] = "warning"
    ) -> None:
        super().__init__(message)
        self.severity = severity
