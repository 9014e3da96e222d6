"""The domain never imports Textual, and the UI never imports torch before it needs a model."""

from __future__ import annotations

import subprocess
import sys


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


def test_domain_packages_import_without_textual() -> None:
    loaded = _modules_after(
        "import tui.engine, tui.store, tui.hardware, tui.config, tui.text\n"
        "import tui.engine.transformers_backend, tui.engine.fake, tui.engine.pump\n"
        "import tui.store.autosave"
    )
    assert not any(m == "textual" or m.startswith("textual.") for m in loaded)


def test_app_module_does_not_import_torch() -> None:
    """The first frame must not wait for torch and transformers (seconds of imports)."""
    loaded = _modules_after("import tui.app, tui.cli")
    assert "torch" not in loaded
    assert "transformers" not in loaded


def test_the_catalogue_sits_below_the_engine_and_loads_nothing_heavy() -> None:
    """tui.models (what is on disk, what fits) is used by the engine and the picker, so it
    imports neither of them, nor Textual; torch, transformers and gguf only inside functions."""
    loaded = _modules_after(
        "import importlib, pkgutil, tui.models\n"
        "for m in pkgutil.iter_modules(tui.models.__path__):\n"
        "    importlib.import_module('tui.models.' + m.name)"
    )
    assert "tui.models.catalog" in loaded and "tui.models.dtypes" in loaded
    above = ("tui.engine", "tui.widgets", "tui.screens", "tui.app", "textual")
    assert not [m for m in loaded if m in above or m.startswith(tuple(p + "." for p in above))]
    assert not {"torch", "transformers", "gguf"} & loaded


def test_the_layer_contracts_in_pyproject_hold() -> None:
    """import-linter's contracts (pyproject.toml [tool.importlinter]): nothing below the UI
    imports Textual, and each layer imports only the layers under it."""
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    lint = Path(sys.executable).parent / "lint-imports"
    out = subprocess.run(
        [str(lint), "--no-cache"], cwd=repo, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


def test_no_import_cycle_among_tui_modules() -> None:
    """A cycle (the CLI importing the app that imports the CLI's config) makes every module on
    it load with all the others; imports only for type checkers do not count."""
    import grimp

    graph = grimp.build_graph("tui", exclude_type_checking_imports=True)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                cycles.append(" -> ".join((module, *back)))
    assert not cycles, "\n".join(cycles)
