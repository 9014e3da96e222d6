"""Copying reaches the clipboard over SSH, in tmux and in screen, and code blocks are found."""

from __future__ import annotations

import base64
import re

from tui.clipboard import MAX_OSC52_BYTES, code_blocks, copy, osc52_sequence

ESC = "\x1b"
TEXT = "héllo\nwörld"
B64 = base64.b64encode(TEXT.encode()).decode()


def payload_of(seq: str) -> str:
    """The base64 a terminal would finally see once the multiplexer framing is removed."""
    inner = seq.replace(f"{ESC}\\{ESC}P", "")  # screen: joined DCS pieces
    m = re.search(r"\]52;c;([A-Za-z0-9+/=]*)\x07", inner.replace(ESC + ESC, ESC))
    assert m, seq
    return base64.b64decode(m.group(1)).decode()


def test_plain_terminal_gets_a_bare_osc52() -> None:
    assert osc52_sequence(TEXT, {}) == f"{ESC}]52;c;{B64}\x07"


def test_tmux_gets_a_passthrough_with_doubled_escapes() -> None:
    seq = osc52_sequence(TEXT, {"TMUX": "/tmp/tmux-0/default,1,0", "TERM": "screen"})
    assert seq == f"{ESC}Ptmux;{ESC}{ESC}]52;c;{B64}\x07{ESC}\\"
    assert payload_of(seq) == TEXT


def test_screen_gets_short_dcs_pieces() -> None:
    long_text = "x" * 1000
    seq = osc52_sequence(long_text, {"TERM": "screen.xterm-256color"})
    assert seq.startswith(f"{ESC}P{ESC}]52;c;") and seq.endswith(f"\x07{ESC}\\")
    pieces = seq.split(f"{ESC}\\")
    assert all(len(p) < 768 for p in pieces)  # screen drops longer DCS strings
    assert len(pieces) > 10
    assert payload_of(seq) == long_text


def test_over_ssh_in_tmux_both_forms_are_written_and_no_local_tool_runs() -> None:
    written: list[str] = []
    ran: list[list[str]] = []
    env = {"SSH_CONNECTION": "1.2.3.4 5 6.7.8.9 22", "TMUX": "x", "DISPLAY": ":0"}
    result = copy(
        TEXT,
        written.append,
        env,
        run=lambda a, d: ran.append(a) or True,
        which=lambda name: f"/usr/bin/{name}",
    )
    assert result.ok and result.method == "OSC 52 via tmux"
    assert ran == []  # the local clipboard tool would copy on the server, not for the user
    assert written == [f"{ESC}]52;c;{B64}\x07", osc52_sequence(TEXT, env)]


def test_locally_a_clipboard_tool_is_used_when_there_is_one() -> None:
    written: list[str] = []
    fed: list[tuple[list[str], bytes]] = []
    result = copy(
        TEXT,
        written.append,
        {"WAYLAND_DISPLAY": "wayland-0"},
        run=lambda a, d: fed.append((a, d)) or True,
        which=lambda name: "/usr/bin/wl-copy" if name == "wl-copy" else None,
    )
    assert result.ok and result.method == "wl-copy"
    assert fed == [(["wl-copy"], TEXT.encode())]
    assert written == []


def test_a_failing_local_tool_falls_back_to_osc52() -> None:
    written: list[str] = []
    result = copy(
        TEXT,
        written.append,
        {"DISPLAY": ":0"},
        run=lambda a, d: False,
        which=lambda name: "/usr/bin/xclip" if name == "xclip" else None,
    )
    assert result.ok and result.method == "OSC 52"
    assert written == [osc52_sequence(TEXT, {})]


def test_no_terminal_or_too_much_text_is_reported_not_raised() -> None:
    assert not copy("x", None, {"SSH_TTY": "/dev/pts/1"}).ok
    written: list[str] = []
    result = copy("x" * (MAX_OSC52_BYTES + 1), written.append, {"SSH_TTY": "/dev/pts/1"})
    assert not result.ok and "too long" in result.method and written == []


def test_code_blocks_are_extracted_without_fences() -> None:
    reply = (
        "Try this:\n\n```python\nprint('a')\n\n  indented()\n```\n\nor in shell:\n"
        "~~~~sh\necho ```not a fence end```\n~~~\nstill code\n~~~~\n"
        "  ```\n  two-space indent\n    four\n  ```\n"
        "```js\nunclosed(\n"
    )
    assert code_blocks(reply) == [
        "print('a')\n\n  indented()",
        "echo ```not a fence end```\n~~~\nstill code",
        "two-space indent\n  four",
        "unclosed(",
    ]


def test_inline_backticks_and_info_strings_with_backticks_are_not_fences() -> None:
    assert code_blocks("use ``` in text\n``` not`a`fence\nplain") == []
    assert code_blocks("no code here") == []
    assert code_blocks("```\n```") == [""]
