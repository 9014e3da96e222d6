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
