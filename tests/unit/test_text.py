"""Untrusted text is shown, never obeyed: control characters become visible stand-ins."""

from __future__ import annotations

from tui.text import visible


def test_escape_sequences_are_shown_not_sent() -> None:
    osc52 = "\x1b]52;c;aGk=\x07"
    assert visible(osc52) == "␛]52;c;aGk=␇"
    assert "\x1b" not in visible("\x1b[2J\x1b]0;title\x07")


def test_newlines_and_tabs_stay_and_crlf_becomes_lf() -> None:
    assert visible("a\tb\r\nc\nd") == "a\tb\nc\nd"


def test_nul_del_and_c1_controls_are_named() -> None:
    assert visible("a\x00b\x7fc\x9bd") == "a␀b␡c<0x9b>d"


def test_bidi_overrides_are_named_but_rtl_text_is_kept() -> None:
    assert visible("abc\u202eevil") == "abc<U+202E>evil"
    assert visible("שלום עולם") == "שלום עולם"
    assert visible("e\u0301") == "e\u0301"  # combining marks are text
