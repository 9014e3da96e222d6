"""`python -m bench` (or `make bench`): run the benchmarks and print a table of ratios.

    python -m bench                         # all of them (several minutes on a small CPU)
    python -m bench --quick                 # fewer repetitions
    python -m bench --only fast_vs_plain,vs_llama_cpp
    python -m bench --json bench.json       # also write {name: {value, unit, detail}}
    python -m bench --threads 1             # torch and llama.cpp on one thread
    python -m bench --strict                # exit 1 when a goal is missed (default: on errors)
    python -m bench --model PATH            # the model benchmarks on another model (a GPU box)

Each benchmark is a module `bench/<name>.py` with a `run(run: Run) -> list[Result]`. A
benchmark that fails is reported as a failed row and the others still run: one broken
measurement must not hide the rest of the table.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from pathlib import Path

from bench import BENCHMARKS, Result
from bench._common import Run, describe_machine, setup_environment


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--only", help="comma-separated benchmark names: " + ", ".join(BENCHMARKS))
    p.add_argument("--quick", action="store_true", help="fewer repetitions (noisier)")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    p.add_argument(
        "--threads", type=int, help="CPU threads for torch and llama.cpp (default: torch's)"
    )
    p.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    p.add_argument(
        "--model",
        help="model for the model benchmarks (HF id, folder, .gguf); default: the bundled one",
    )
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    return p.parse_args(argv)


def format_table(results: list[Result]) -> str:
    """A plain-text table, also valid Markdown, so it can be pasted into the README."""
    rows = [("name", "value", "unit", "goal", "pass", "detail")]
    for r in results:
        value = (
            "-"
            if r.value is None
            else f"{r.value:.3g}"
            if abs(r.value) < 1000
            else f"{r.value:.0f}"
        )
        verdict = "skip" if r.skipped else {True: "PASS", False: "FAIL", None: ""}[r.passed]
        rows.append((r.name, value, r.unit, r.goal_text, verdict, r.detail))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[i].ljust(widths[i]) for i in range(5)] + [row[5]]
        lines.append("| " + " | ".join(cells) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|---|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        print("\n".join(BENCHMARKS))
        return 0
    names = list(BENCHMARKS)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in BENCHMARKS]
        if unknown:
            print(f"unknown benchmark(s): {', '.join(unknown)}", file=sys.stderr)
            return 2
    setup_environment(args.threads, args.model)
    if not args.threads and not args.model:
        from bench.threads import ensure_measured

        ensure_measured()  # before the machine line: it says the thread count used
    run = Run(quick=args.quick)
    print(f"machine: {describe_machine()}", flush=True)
    if args.model:
        print(f"model: {args.model}", flush=True)
    results: list[Result] = []
    for name in names:
        started = time.perf_counter()
        print(f"running {name}…", flush=True)
        try:
            module = importlib.import_module(f"bench.{name}")
            got = module.run(run)
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the rest
            traceback.print_exc()
            got = [Result(name, None, "", detail=f"error: {type(exc).__name__}: {exc}")]
        for r in got:
            print(f"  {r.name} = {r.value} {r.unit}  {r.detail}", flush=True)
        results.extend(got)
        print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
    print()
    print(format_table(results))
    if args.json:
        args.json.write_text(json.dumps({r.name: r.as_json() for r in results}, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    errors = [r for r in results if r.value is None and not r.skipped]
    missed = [r for r in results if r.passed is False]
    return 1 if errors or (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
