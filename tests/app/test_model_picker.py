"""The model picker pane in a small host app, over a real Hugging Face cache of tiny models.

The cache (a dense Llama, a Mixtral-style MoE, a base model without chat template, a broken
config) is laid out as huggingface_hub does, found through HF_HUB_CACHE, offline. Hardware is
a fixed CPU-only machine (16 GiB free, 20 GB/s) so "fits" and tok/s are known in advance.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from tests.helpers import hf_cache
from tests.helpers.tiny_models import build_model
from tui.engine.assisted import PROMPT_LOOKUP
from tui.hardware import CpuSnapshot, HardwareService, HardwareSnapshot
from tui.models.catalog import Catalog, list_models
from tui.models.estimates import estimate
from tui.models.units import format_bytes
from tui.widgets.model_choice import ChoiceRow
from tui.widgets.model_picker import ModelPicker

GIB = 1024**3
RAM_FREE = 16 * GIB
CPU_BW = 20e9


class CpuOnlyProbe:
    """A machine without GPU: 32 GiB RAM, 16 GiB of it available."""

    def sample(self) -> HardwareSnapshot:
        cpu = CpuSnapshot(
            per_core=(5.0, 5.0), ram_used=32 * GIB - RAM_FREE, ram_total=32 * GIB, process_rss=GIB
        )
        return HardwareSnapshot(time=0.0, cpu=cpu, gpu_off_reason="No NVIDIA driver")

    def close(self, timeout: float = 2.0) -> None:
        pass


class Host(App):
    """The picker alone (full width), or in a side column `side` cells wide."""

    def __init__(self, picker: ModelPicker, side: int = 0) -> None:
        super().__init__()
        self.picker = picker
        self.side = side
        self.requests: list[ModelPicker.LoadRequested] = []
        self.dismissed = 0
        if side:
            self.CSS = f"#side {{ width: {side}; }} #chat {{ width: 1fr; }}"

    def compose(self) -> ComposeResult:
        if self.side:
            with Horizontal():
                yield Static("chat", id="chat")
                with Vertical(id="side"):
                    yield self.picker
        else:
            yield self.picker

    def on_mount(self) -> None:
        self.picker.focus()

    def on_model_picker_load_requested(self, message: ModelPicker.LoadRequested) -> None:
        self.requests.append(message)

    def on_model_picker_dismissed(self, _message: ModelPicker.Dismissed) -> None:
        self.dismissed += 1


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("picker-models")
    return {
        "llama": build_model(root / "llama"),
        "mixtral": build_model(root / "mixtral", moe=True),
        "base": build_model(root / "base", chat_template=None),
    }


@pytest.fixture
def cache(built: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import huggingface_hub  # noqa: F401 - imported first, so its constants are already frozen

    cache = tmp_path / "hub"
    hf_cache.place_in_cache(built["llama"], cache, "org/tiny-llama", commit="a" * 40)
    hf_cache.place_in_cache(built["mixtral"], cache, "org/tiny-mixtral")
    hf_cache.place_in_cache(built["base"], cache, "org/tiny-base")
    broken = hf_cache.write_config(tmp_path / "broken", '{"architectures": [')
    hf_cache.place_in_cache(broken, cache, "org/broken")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def make_picker(**kwargs: object) -> ModelPicker:
    measure = kwargs.pop("cpu_bandwidth_fn", lambda: CPU_BW)
    kwargs.setdefault("refresh_s", 0)
    hardware = HardwareService(CpuOnlyProbe(), cpu_bandwidth_fn=measure)  # type: ignore[arg-type]
    return ModelPicker(hardware, **kwargs)  # type: ignore[arg-type]


async def until(pilot, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ANN001
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out; pane shows:\n{pilot.app.picker.text()}")
        await pilot.pause(0.02)


def ready(app: Host) -> Callable[[], bool]:
    p = app.picker
    return lambda: p.catalog is not None and p.snapshot is not None and p.cpu_bw is not None


async def highlight(pilot, app: Host, model_id: str) -> None:  # noqa: ANN001
    picker = app.picker
    index = next(i for i, e in enumerate(picker._shown) if e.id == model_id)
    picker.option_list.highlighted = index
    await pilot.pause(0.05)


def flat(text: str) -> str:
    """Wrapped lines joined back: a sentence is found wherever the pane broke it."""
    return " ".join(text.split())


def screen_text(app: App) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_lists_cached_models_with_size_params_context_and_template(cache: Path) -> None:
    app = Host(make_picker())
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, ready(app))
        catalog = list_models()
        llama = catalog.find("org/tiny-llama")
        assert llama is not None and llama.facts.size_on_disk
        text = app.picker.text()
        for repo in ("org/tiny-llama", "org/tiny-mixtral", "org/tiny-base", "org/broken"):
            assert repo in text
        assert format_bytes(llama.facts.size_on_disk) in text
        assert "ctx 512" in text
        mixtral_line = next(
            line for line in text.splitlines() if "ctx" in line and "active" in line
        )
        assert "total" in mixtral_line  # "26.0K total, 17.7K active"
        assert "no chat template" in text
        assert "config.json is not valid JSON" in text  # broken entries are listed, with why
        assert "found" in str(app.picker._title)


async def test_the_estimate_table_shows_fits_and_speed_for_the_highlighted_model(
    cache: Path,
) -> None:
    app = Host(make_picker())
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, ready(app))
        await highlight(pilot, app, "org/tiny-mixtral")
        entry = app.picker.selected
        assert entry is not None and entry.id == "org/tiny-mixtral"
        expected = estimate(entry.facts, free_bytes=RAM_FREE, bandwidth_bytes_per_s=CPU_BW)
        detail = app.picker.query_one("#mp-detail").plain
        lines = detail.splitlines()
        header = next(line for line in lines if "precision" in line)
        assert "fits" in header and "tok/s" in header
        fp32 = next(line for line in lines if line.lstrip("> ").startswith("fp32"))
        assert fp32.startswith("> ")  # auto dtype on the CPU loads fp32: that row is marked
        assert " yes " in fp32
        tps = expected.row("fp32").bound_tps
        assert tps is not None and f"{tps / 1000:.1f}k" in fp32
        assert "CPU RAM: 17.2 GB free · 20 GB/s" in flat(detail)
        assert "fp32 fits." in detail
        assert "MoE: memory counts all experts" in flat(app.picker.text())


async def test_choosing_4bit_moves_the_marked_row(cache: Path) -> None:
    app = Host(make_picker())
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, ready(app))
        app.picker.query_one("#mp-quantize", ChoiceRow).focus()
        await pilot.press("right", "right")
        detail = app.picker.query_one("#mp-detail").plain
        marked = [line for line in detail.splitlines() if line.startswith("> ")]
        assert len(marked) == 1 and marked[0].startswith("> 4-bit nf4")


async def test_enter_posts_load_requested_with_the_chosen_options(cache: Path) -> None:
    app = Host(make_picker())
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, ready(app))
        await pilot.press(*"llama")  # filter the list down to the one model
        await until(pilot, lambda: [e.id for e in app.picker._shown] == ["org/tiny-llama"])
        picker = app.picker
        picker.query_one("#mp-dtype", ChoiceRow).focus()
        await pilot.press("left")  # auto -> fp32 (cycles backwards)
        await pilot.press("down", "right")  # quantize: none -> 8bit
        await pilot.press("down", "right")  # device: auto -> cpu
        await pilot.press("down", "right", "right")  # attention: auto -> sdpa -> eager
        await pilot.press("down", "down", "right")  # draft: none -> prompt lookup
        await pilot.press("enter")
        await until(pilot, lambda: bool(app.requests))
        request = app.requests[0]
        assert request.entry.id == "org/tiny-llama"
        spec = request.spec
        assert spec.model == "org/tiny-llama"
        assert (spec.dtype, spec.quantize, spec.device) == ("fp32", "8bit", "cpu")
        assert spec.attn_implementation == "eager"
        assert spec.trust_remote_code is False
        assert spec.draft == PROMPT_LOOKUP


async def test_enter_in_the_search_line_loads_the_first_match(cache: Path) -> None:
    app = Host(make_picker())
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, ready(app))
        await pilot.press(*"mixtral", "enter")
        await until(pilot, lambda: bool(app.requests))
        spec = app.requests[0].spec
        assert spec.model == "org/tiny-mixtral"
        assert (spec.dtype, spec.quantize, spec.device, spec.draft) == ("auto", None, "auto", None)


async def test_a_partial_id_filters_and_enter_takes_the_catalog_match(cache: Path) -> None:
    """Typing "org/tiny-l" filters; the unknown "org/tiny-l" goes below the real match."""
    app = Host(make_picker())
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, ready(app))
        await pilot.press(*"org/tiny-l")
        await until(
            pilot,
            lambda: app.picker._typed is not None and not app.picker._typed_pending,
        )
        assert [e.id for e in app.picker._shown] == ["org/tiny-llama", "org/tiny-l"]
        await pilot.press("enter")
        await until(pilot, lambda: bool(app.requests))
        assert app.requests[0].spec.model == "org/tiny-llama"


async def test_a_typed_id_is_described(cache: Path, tiny_model_no_template: Path) -> None:
    app = Host(make_picker())
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, ready(app))
        await pilot.press(*"someone/not-cached")
        await until(
            pilot,
            lambda: (
                app.picker.selected is not None
                and app.picker.selected.id == "someone/not-cached"
                and app.picker.selected.error is not None
            ),
        )
        assert "not in the local cache and HF_HUB_OFFLINE is set" in flat(app.picker.text())
        await pilot.press("enter")  # cannot load: says why, posts nothing
        await pilot.pause(0.1)
        assert not app.requests
        assert any("HF_HUB_OFFLINE" in n.message for n in app._notifications)
        # A folder path: described from its files, its missing chat template called out.
        app.picker.search.value = str(tiny_model_no_template)
        await until(
            pilot,
            lambda: (
                app.picker.selected is not None
                and app.picker.selected.kind == "folder"
                and app.picker.selected.facts.parameters is not None
            ),
        )
        assert "No chat template: tchat falls back to ChatML." in flat(app.picker.text())
        await pilot.press("enter")
        await until(pilot, lambda: bool(app.requests))
        assert app.requests[0].spec.model == str(tiny_model_no_template.resolve())


async def test_listing_never_blocks_the_pane(cache: Path) -> None:
    release = threading.Event()

    def slow_list(dirs) -> Catalog:  # noqa: ANN001
        release.wait(10)
        return list_models(dirs)

    app = Host(make_picker(lister=slow_list))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        assert "scanning…" in screen_text(app)
        await pilot.press(*"tiny")  # the UI answers while the listing runs
        assert app.picker.search.value == "tiny"
        release.set()
        await until(pilot, lambda: app.picker.catalog is not None)
        assert "scanning…" not in screen_text(app)
        assert all("tiny" in e.id for e in app.picker._shown)


async def test_trusting_remote_code_is_off_until_ticked_and_warns(cache: Path) -> None:
    app = Host(make_picker())
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, ready(app))
        assert app.picker.load_spec().trust_remote_code is False  # type: ignore[union-attr]
        assert "Only for repos you trust" not in app.picker.text()
        app.picker.query_one("#mp-trust", ChoiceRow).focus()
        await pilot.press("space")
        assert app.picker.load_spec().trust_remote_code is True  # type: ignore[union-attr]
        assert "Only for repos you trust" in flat(app.picker.text())


async def test_the_loaded_model_is_marked(cache: Path) -> None:
    app = Host(make_picker(current="org/tiny-base"))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, ready(app))
        assert app.picker.selected is not None and app.picker.selected.id == "org/tiny-base"
        assert "* org/tiny-base" in app.picker.text()
        assert "loaded now" in app.picker.text()
        app.picker.mark_loaded("org/tiny-llama")
        await pilot.pause(0.05)
        assert "* org/tiny-llama" in app.picker.text()
        assert "* org/tiny-base" not in app.picker.text()


async def test_drafts_offer_prompt_lookup_and_smaller_models(cache: Path) -> None:
    app = Host(make_picker())
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, ready(app))
        await highlight(pilot, app, "org/tiny-mixtral")
        values = [v for v, _label in app.picker.query_one("#mp-draft", ChoiceRow).choices]
        assert values[:2] == ["none", PROMPT_LOOKUP]
        assert "org/tiny-llama" in values  # smaller than the MoE
        assert "org/tiny-mixtral" not in values and "org/broken" not in values


async def test_cpu_bandwidth_is_measured_off_the_ui_thread(cache: Path) -> None:
    threads: list[str] = []

    def measure() -> float:
        threads.append(threading.current_thread().name)
        return CPU_BW

    app = Host(make_picker(cpu_bandwidth_fn=measure))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, ready(app))
        assert threads and threading.main_thread().name not in threads


async def test_escape_asks_the_app_to_close_the_pane(cache: Path) -> None:
    app = Host(make_picker())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("escape")
        await pilot.pause(0.05)
        assert app.dismissed == 1


@pytest.mark.parametrize("width", [30, 44, 60])
async def test_a_side_column_keeps_the_essentials(cache: Path, width: int) -> None:
    app = Host(make_picker(), side=width)
    async with app.run_test(size=(80 + width, 24)) as pilot:
        await until(pilot, ready(app))
        await highlight(pilot, app, "org/tiny-llama")
        assert not app.picker.has_class("-wide")
        detail = app.picker.query_one("#mp-detail").plain
        header = next(line for line in detail.splitlines() if "precision" in line)
        assert "fits" in header and "tok/s" in header
        assert max(len(line) for line in detail.splitlines()) <= width - 2
        assert "org/tiny-llama" in screen_text(app)
