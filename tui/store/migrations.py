"""Older session layouts, brought up to date in memory when a file is loaded.

Each step turns format N into format N+1 and never mutates its input; the file on disk keeps its
old layout until the session is saved again. Steps check only the shapes they rewrite: the
current-format reader validates everything else afterwards.

Format 2 differs from format 3 only in what it cannot hold (message ids, the branches of a
chat as a tree, a reply's own settings): a format-2 chat is a single path, so its step only
changes the version.

Format 1 differs from format 2 only in what it cannot hold (a model's `backend` and
`endpoint`, a reply's `thinking`), so its step only changes the version.

Format 0 (pre-release builds) differed from format 1 in three ways:
- `model` was the model id as a plain string, not a `[model]` table;
- messages held their text in `text`, not `content`;
- a reply stopped by the user said `stopped = true` instead of `stats.stop_reason = "cancelled"`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tui.store._reader import ShapeError, type_name

OLDEST_FORMAT = 0


def _v0_to_v1(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    if "model" in out:
        if not isinstance(out["model"], str):
            raise ShapeError(f"model: expected a string in format 0, got {type_name(out['model'])}")
        out["model"] = {"id": out["model"]}
    messages = out.get("messages")
    if isinstance(messages, list):
        out["messages"] = [
            _v0_message(m, i) if isinstance(m, dict) else m for i, m in enumerate(messages)
        ]
    out["format_version"] = 1
    return out


def _v0_message(message: dict[str, Any], index: int) -> dict[str, Any]:
    m = dict(message)
    if "text" in m and "content" not in m:
        m["content"] = m.pop("text")
    if "stopped" in m:
        stopped = m.pop("stopped")
        if not isinstance(stopped, bool):
            raise ShapeError(f"messages[{index}].stopped: expected true or false in format 0")
        if stopped:
            stats = m.get("stats")
            if stats is None:  # format 0 wrote no stats for a reply stopped before its first token
                stats = {"prompt_tokens": 0, "new_tokens": 0, "total_s": 0.0}
            if isinstance(stats, dict):
                m["stats"] = {**stats, "stop_reason": "cancelled"}
    return m


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "format_version": 2}


def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "format_version": 3}


# STEPS[n] upgrades format n to n + 1.
STEPS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    0: _v0_to_v1,
    1: _v1_to_v2,
    2: _v2_to_v3,
}


def migrate(data: dict[str, Any], version: int, target: int) -> dict[str, Any]:
    """Apply the steps from `version` up to `target`; raises ShapeError on a shape they need."""
    for v in range(version, target):
        data = STEPS[v](data)
    return data
