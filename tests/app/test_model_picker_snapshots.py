"""Screenshots of the model picker with fixed data: a catalog built from known model facts
(no files read), a fixed H100 box or a fixed CPU box, no live figures. Update with
`pytest --snapshot-update` after a deliberate change, and look at the report first."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from tests.app.test_model_picker import CpuOnlyProbe
from tests.snapshots.fixed_hardware import FixedProbe
from tui.hardware import HardwareService
from tui.models.catalog import Catalog, CatalogEntry
from tui.models.facts import ModelFacts, MoEInfo
from tui.widgets.model_choice import ChoiceRow
from tui.widgets.model_picker import ModelPicker

SMOL = "HuggingFaceTB/SmolLM2-135M-Instruct"
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
MIXTRAL = "mistralai/Mixtral-8x7B-Instruct-v0.1"


def _facts(params: int, ctx: int, size: int, kv: int, embed: int, **kw: object) -> ModelFacts:
    return ModelFacts(
        parameters=params,
        context_length=ctx,
        has_chat_template=kw.pop("template", True),  # type: ignore[arg-type]
        dtype="bf16",
        size_on_disk=size,
        weights_format="safetensors",
        kv_elements_per_token=kv,
        unquantized_params=embed,
        **kw,  # type: ignore[arg-type]
    )


def fixed_catalog(_dirs: Sequence[Path] = ()) -> Catalog:
    """Real models' figures (from their config.json and safetensors headers)."""
    mixtral = _facts(
        46_702_792_704,
        32768,
        93_405_585_408,
        65536,
        262_144_000,
        active_parameters=12_879_925_248,
        moe=MoEInfo(8, 2),
        model_type="mixtral",
    )
    return Catalog(
        [
            CatalogEntry(
                SMOL,
                "SmolLM2-135M-Instruct",
                "bundled",
                None,
                _facts(134_515_008, 8192, 269_060_552, 11520, 28_311_552, model_type="llama"),
            ),
            CatalogEntry(
                LLAMA,
                LLAMA,
                "hf-cache",
                None,
                _facts(
                    8_030_261_248, 131072, 16_060_522_496, 65536, 1_050_673_152, model_type="llama"
                ),
                revision="0e9e39f249a16976918f6564b8830bc894c89659",
            ),
            CatalogEntry(
                MIXTRAL,
                MIXTRAL,
                "hf-cache",
                None,
                mixtral,
                revision="41bd4c9e7e4fb318ca40e721131d4933966c2cc1",
            ),
            CatalogEntry(
                "Qwen/Qwen2.5-0.5B",
                "Qwen/Qwen2.5-0.5B",
                "hf-cache",
                None,
                _facts(494_032_768, 32768, 988_097_824, 6144, 136_134_656, template=False),
                revision="060db6499f32faf8b98477b0a26969ef7d8b9987",
            ),
            CatalogEntry(
                "/models/[bold]broken",
                "[bold]broken",
                "folder",
                Path("/models/[bold]broken"),
                error="config.json is not valid JSON (line 1, column 17)",
                hint="Fix or re-download the model; its config.json must be valid JSON.",
            ),
        ]
    )


class Host(App):
    """The picker full screen, or in a side column beside a stand-in chat."""

    def __init__(self, picker: ModelPicker, side: int = 0) -> None:
        super().__init__()
        self.picker = picker
        self.side = side
        if side:
            self.CSS = f"#side {{ width: {side}; }} #chat {{ width: 1fr; }}"

    def compose(self) -> ComposeResult:
        if not self.side:
            yield self.picker
            return
        with Horizontal():
            yield Static("(the chat)", id="chat")
            with Vertical(id="side"):
                yield self.picker

    def on_mount(self) -> None:
        self.picker.search.cursor_blink = False  # a blinking cursor makes screenshots flaky
        self.picker.focus()


def make_picker(gpu: bool) -> ModelPicker:
    probe = FixedProbe() if gpu else CpuOnlyProbe()
    return ModelPicker(
        HardwareService(probe, cpu_bandwidth_fn=lambda: 20e9),  # type: ignore[arg-type]
        current=SMOL,
        lister=fixed_catalog,
        refresh_s=0,
    )


async def _settle(pilot) -> None:  # noqa: ANN001
    picker = pilot.app.picker
    for _ in range(100):
        if picker.catalog is not None and picker.snapshot is not None:
            break
        await pilot.pause(0.02)
    await pilot.pause(0.1)


def _highlight(model_id: str):  # noqa: ANN202
    async def run(pilot) -> None:  # noqa: ANN001
        await _settle(pilot)
        picker = pilot.app.picker
        picker.option_list.highlighted = next(
            i for i, e in enumerate(picker._shown) if e.id == model_id
        )
        await pilot.pause(0.1)

    return run


def test_picker_full_screen_80x24(snap_compare) -> None:  # noqa: ANN001
    """You should see, at 80x24 on a fixed H100 (64.4 GB free, 3.35 TB/s): the list on the
    left (SmolLM2 marked '*' as loaded, Llama 8B, Mixtral '46.7B total, 12.9B active', Qwen
    base 'no chat template', '[bold]broken' literally with its JSON error) and, for the
    highlighted Mixtral on the right, the table: fp32 and bf16 'no', 8-bit and 4-bit 'yes',
    the bf16 row marked '>', 'bf16/fp16 does not fit: try 8-bit.' and the load options."""
    app = Host(make_picker(gpu=True))
    assert snap_compare(app, terminal_size=(80, 24), run_before=_highlight(MIXTRAL))


def test_picker_side_pane_120x40(snap_compare) -> None:  # noqa: ANN001
    """You should see the picker as a 48-column side pane at 120x40 on the fixed CPU box
    (17.2 GB free, 20 GB/s): the list on top, Llama 8B highlighted, below it its table with
    the 4-bit row marked (quantize set to 4-bit nf4) and fitting, then the options with
    remote code 'on' and the warning about running the repo's code under them."""

    async def run(pilot) -> None:  # noqa: ANN001
        await _highlight(LLAMA)(pilot)
        picker = pilot.app.picker
        picker.query_one("#mp-quantize", ChoiceRow).value = "4bit"
        picker.query_one("#mp-trust", ChoiceRow).value = "on"
        picker._redraw()
        await pilot.pause(0.1)

    app = Host(make_picker(gpu=False), side=48)
    assert snap_compare(app, terminal_size=(120, 40), run_before=run)
