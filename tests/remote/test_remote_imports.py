"""The remote engine never imports torch or transformers (nothing of the model runs here), and
importing it, or starting tchat with --endpoint, imports no HTTP client before it connects."""

from __future__ import annotations

from tests.unit.test_import_hygiene import _modules_after

HEAVY = {"torch", "transformers"}


def test_a_whole_remote_reply_imports_no_torch() -> None:
    loaded = _modules_after(
        "import threading\n"
        "from tests.helpers.fake_openai_server import FakeServer\n"
        "from tui.engine.registry import make_backend\n"
        "from tui.engine.backend import LoadSpec\n"
        "from tui.engine.endpoint import Endpoint\n"
        "from tui.store.session import GenerationSettings\n"
        "server = FakeServer().start()\n"
        "b = make_backend('remote')\n"
        "b.load(LoadSpec(endpoint=Endpoint(url=server.url)))\n"
        "assert ''.join(b.stream([{'role': 'user', 'content': 'hi'}], GenerationSettings(),"
        " threading.Event())) == 'Hi!'\n"
        "b.server_metrics()\n"
        "server.stop()"
    )
    assert "openai" in loaded and "httpx2" in loaded
    assert not HEAVY & loaded
    assert not any(m.startswith("textual") for m in loaded)


def test_choosing_the_remote_engine_imports_no_http_client_yet() -> None:
    loaded = _modules_after(
        "from tui.cli import parse_args\n"
        "from tui.engine.registry import make_backend\n"
        "launch = parse_args(['--endpoint', 'http://127.0.0.1:9/v1'])\n"
        "make_backend(launch.backend)\n"
        "import tui.app, tui.endpoints, tui.screens.chat.loads, tui.widgets.engine_gauges"
    )
    assert not {"openai", "httpx2", "torch", "transformers"} & loaded
