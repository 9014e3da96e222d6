"""A backend's load options are declared once: the command line and the model picker are made
from the same declaration, so a flag and its picker row offer the same values."""

from __future__ import annotations

import pytest

from tui.cli import build_parser, parse_args
from tui.engine import registry


def _flags() -> dict[str, object]:
    return {a.option_strings[-1]: a for a in build_parser()._actions if a.option_strings}


def test_every_declared_option_is_a_flag_taking_the_declared_values() -> None:
    flags = _flags()
    for option in registry.backend_class("transformers").load_options:
        action = flags[option.flag]
        declared = [v for v, _ in option.choices]
        if option.kind == "choice":
            offered = list(action.choices)  # type: ignore[attr-defined]
            expected = [v for v in declared if option.flag_takes_unset or v != option.unset]
            assert offered == expected, option.flag


def test_flags_reach_the_launch_as_before() -> None:
    launch = parse_args(["--dtype", "bf16", "--quantize", "4bit", "--attn", "eager"])
    assert (launch.dtype, launch.quantize, launch.attn) == ("bf16", "4bit", "eager")
    assert launch.device == "auto" and launch.trust_remote_code is False
    assert parse_args(["--trust-remote-code", "--device", "cuda:1"]).device == "cuda:1"
    with pytest.raises(SystemExit):
        parse_args(["--quantize", "none"])  # leaving the flag out is how to say "none"


def test_a_row_value_becomes_the_load_spec_value() -> None:
    options = {o.key: o for o in registry.backend_class("transformers").load_options}
    assert options["quantize"].to_spec("none") is None
    assert options["quantize"].to_spec("4bit") == "4bit"
    assert options["attn"].to_spec("auto") is None
    assert options["trust"].to_spec("on") is True and options["trust"].row_choices()[0][0] == "off"


def test_a_choice_that_needs_a_missing_module_is_not_offered_in_the_picker() -> None:
    from importlib.util import find_spec

    attn = {o.key: o for o in registry.backend_class("transformers").load_options}["attn"]
    offered = [v for v, _ in attn.row_choices()]
    assert ("flash_attention_2" in offered) == (find_spec("flash_attn") is not None)
    assert offered[:3] == ["auto", "sdpa", "eager"]


def test_the_fake_backend_declares_no_load_options() -> None:
    assert registry.backend_class("fake").load_options == ()
    assert registry.backend_class("fake").capabilities.drafts is False
