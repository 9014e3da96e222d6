"""tchat's benchmarks: speed targets checked as ratios measured within one run.

Absolute figures (tokens/s, milliseconds) depend on the machine and on whatever else it is
doing; a ratio of two figures measured side by side in one run on one machine does not, much.
So every headline figure here is a ratio with a goal (e.g. "the app's decode speed is >= 0.97x
raw `model.generate`"), each side being the median of several repetitions after a warm-up.
Absolute figures go into extra rows and the detail column, for the README.

`python -m bench` runs them all and prints a table; see `bench/__main__.py` for the options.
Benchmarks never run in the test suite: timings in tests are flaky by nature.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

# Comparison operators a goal may use, by the symbol shown in the table.
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
}


@dataclass
class Result:
    """One row of the table: a measured value, its unit, an optional goal and how it was got.

    `goal` is `(op, threshold)` such as `(">=", 0.97)`; rows without a goal are information
    (absolute speeds, compile time, save times). `skipped` rows carry the reason in `detail`.
    """

    name: str
    value: float | None
    unit: str
    detail: str = ""
    goal: tuple[str, float] | None = None
    skipped: bool = False

    @property
    def passed(self) -> bool | None:
        """True/False against the goal; None when there is no goal or nothing was measured."""
        if self.goal is None or self.value is None or self.skipped:
            return None
        op, threshold = self.goal
        return _OPS[op](self.value, threshold)

    @property
    def goal_text(self) -> str:
        return f"{self.goal[0]} {self.goal[1]:g}" if self.goal else ""

    def as_json(self) -> dict[str, object]:
        """The shape `--json` writes: {"value": float, "unit": str, "detail": str}."""
        return {"value": self.value, "unit": self.unit, "detail": self.detail}


# The benchmarks in the order they run, by the module that implements each (bench/<name>.py).
# The default-model ones come first and share one loaded model (see bench/_model.py).
BENCHMARKS = (
    "app_vs_generate",
    "fast_vs_plain",
    "token_alternatives",
    "vs_llama_cpp",
    "fast_ready_warm",
    "remote_stream_overhead",
    "stream_render_scaling",
    "session_load_scaling",
    "first_frame",
    "default_load",
    "warm_start",
    "threads",
)
