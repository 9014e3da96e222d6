"""Copy text to the user's clipboard, including over SSH and inside tmux or GNU screen.

Why not just `App.copy_to_clipboard`: in Textual 8.2.8 it writes a bare OSC 52 sequence
(`ESC ] 52 ; c ; <base64> BEL`). A terminal multiplexer in between swallows that unless it was
configured for it, so over SSH in tmux the copy silently does nothing (peers' users report
exactly this: elia #10/#83). Here:

- In tmux (`$TMUX` set) the sequence is also sent wrapped in tmux's DCS passthrough
  (`ESC P tmux; ... ESC \\`, every ESC inside doubled), which reaches the outer terminal when
  tmux has `allow-passthrough on`. The bare sequence goes too: tmux takes it into its own paste
  buffer and forwards it when `set-clipboard` is `on`. Sending both means either setting works;
  a terminal that gets both just sets the same clipboard twice.
- In GNU screen (`$TERM` starts with "screen", not in tmux) the sequence is wrapped in screen's
  DCS passthrough, cut into short pieces because screen drops longer DCS strings.
- Not over SSH, with a local clipboard tool (wl-copy, xclip, xsel, pbcopy), that tool is used:
  it works even in terminals without OSC 52 (VTE-based ones, for example).

No Textual here: the app passes a `write` function that puts bytes on its terminal (its
driver), and tests pass a list's `append`; `copy_in_app` takes the app itself, described by a
protocol rather than imported.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

ESC = "\x1b"
BEL = "\x07"
ST = ESC + "\\"  # string terminator, ends a DCS
# GNU screen refuses DCS strings longer than 768 bytes; 76-character pieces of base64 keep
# every piece (with its framing) well under that.
SCREEN_CHUNK = 76
# Terminals cap OSC 52 payloads (xterm's default is about 100 kB of base64); beyond this we
# say so instead of sending something the terminal will drop.
MAX_OSC52_BYTES = 74_994  # 100,000 base64 characters

Writer = Callable[[str], object]
Runner = Callable[[list[str], bytes], bool]


def _osc52(text: str) -> str:
    payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return f"{ESC}]52;c;{payload}{BEL}"


def in_tmux(env: Mapping[str, str]) -> bool:
    return bool(env.get("TMUX"))


def in_screen(env: Mapping[str, str]) -> bool:
    return not in_tmux(env) and env.get("TERM", "").startswith("screen")


def over_ssh(env: Mapping[str, str]) -> bool:
    return bool(env.get("SSH_CONNECTION") or env.get("SSH_TTY") or env.get("SSH_CLIENT"))


def osc52_sequence(text: str, env: Mapping[str, str] | None = None) -> str:
    """The OSC 52 "set clipboard" sequence for `text`, wrapped for the multiplexer in `env`."""
    env = os.environ if env is None else env
    seq = _osc52(text)
    if in_tmux(env):
        return f"{ESC}Ptmux;{seq.replace(ESC, ESC + ESC)}{ST}"
    if in_screen(env):
        head, body = f"{ESC}]52;c;", seq[len(f"{ESC}]52;c;") : -1]
        pieces = [body[i : i + SCREEN_CHUNK] for i in range(0, len(body), SCREEN_CHUNK)] or [""]
        # Each DCS passes its piece through untouched; the terminal sees one OSC 52 in the end.
        return f"{ESC}P{head}" + f"{ST}{ESC}P".join(pieces) + f"{BEL}{ST}"
    return seq


Which = Callable[[str], "str | None"]


def local_tool(env: Mapping[str, str], which: Which = shutil.which) -> list[str] | None:
    """The command that copies stdin to the local clipboard, or None when there is none."""
    if sys.platform == "darwin" and which("pbcopy"):
        return ["pbcopy"]
    if env.get("WAYLAND_DISPLAY") and which("wl-copy"):
        return ["wl-copy"]
    if env.get("DISPLAY"):
        if which("xclip"):
            return ["xclip", "-selection", "clipboard"]
        if which("xsel"):
            return ["xsel", "--clipboard", "--input"]
    return None


def _run_tool(argv: list[str], data: bytes) -> bool:
    # stdout/stderr go to /dev/null, not pipes: xclip forks a child that keeps serving the
    # selection, and a pipe held by that child would make run() wait for it.
    try:
        done = subprocess.run(
            argv,
            input=data,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=3,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


@dataclass(frozen=True)
class CopyResult:
    """How the text was copied, worded for a notification ("Copied 120 characters (tmux)")."""

    ok: bool
    method: str  # "wl-copy", "xclip", "pbcopy", "OSC 52", "OSC 52 via tmux", ... or the reason
    chars: int = 0


def copy(
    text: str,
    write: Writer | None,
    env: Mapping[str, str] | None = None,
    run: Runner = _run_tool,
    which: Which = shutil.which,
) -> CopyResult:
    """Copy `text`: a local clipboard tool when not over SSH and one exists, else OSC 52.

    `write` puts a string on the app's terminal (None when there is no terminal, e.g. in a
    headless test). Returns what happened; never raises for a missing clipboard.
    """
    env = os.environ if env is None else env
    if not over_ssh(env):
        tool = local_tool(env, which)
        if tool is not None and run(tool, text.encode("utf-8")):
            return CopyResult(True, tool[0], len(text))
    if write is None:
        return CopyResult(False, "no terminal to send the clipboard sequence to")
    if len(text.encode("utf-8")) > MAX_OSC52_BYTES:
        return CopyResult(
            False, f"too long for the terminal clipboard ({len(text):,} characters)", len(text)
        )
    if in_tmux(env):
        write(_osc52(text))  # taken by tmux itself when set-clipboard is on
        write(osc52_sequence(text, env))  # passed through when allow-passthrough is on
        return CopyResult(True, "OSC 52 via tmux", len(text))
    write(osc52_sequence(text, env))
    return CopyResult(True, "OSC 52 via screen" if in_screen(env) else "OSC 52", len(text))


class _Terminal(Protocol):
    def write(self, data: str) -> object: ...


class TextualApp(Protocol):
    """What `copy_in_app` uses of a Textual `App`: two private attributes of Textual 8.2."""

    _clipboard: str  # what `App.clipboard` returns: the text ctrl+v pastes in the app

    @property
    def _driver(self) -> _Terminal | None: ...  # the terminal; None when the app is not running


def copy_in_app(app: TextualApp, text: str) -> CopyResult:
    """`copy` for a Textual app: `text` also becomes the app's own clipboard (what its inputs
    paste), and the sequence goes to the app's terminal.

    Textual has no public setter for `App.clipboard` and no public way to write to the
    terminal but `App.copy_to_clipboard`, which sends the bare sequence (see above): so this
    sets `App._clipboard` and writes through `App._driver`, the two names that method uses.
    tests/unit/test_textual_private_hooks.py checks both still exist.
    """
    app._clipboard = text
    driver = app._driver
    return copy(text, driver.write if driver is not None else None)


_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")


def code_blocks(markdown: str) -> list[str]:
    """The contents of the fenced code blocks in `markdown`, in order, without the fences.

    Follows CommonMark's fence rules: ``` or ~~~ (three or more), indented at most three
    spaces; the block ends at a fence of the same character at least as long; a backtick
    fence's info string may not contain backticks; an unclosed block runs to the end (a reply
    stopped mid-code still offers the code written so far). The opening fence's indentation
    is removed from each line, as a Markdown renderer would.
    """
    blocks: list[str] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m is None or (m.group(2)[0] == "`" and "`" in m.group(3)):
            i += 1
            continue
        indent, fence = len(m.group(1)), m.group(2)
        body: list[str] = []
        i += 1
        while i < len(lines):
            close = _FENCE.match(lines[i])
            if (
                close is not None
                and close.group(2)[0] == fence[0]
                and len(close.group(2)) >= len(fence)
                and not close.group(3).strip()
            ):
                break
            line = lines[i]
            strip = len(line) - len(line.lstrip(" "))
            body.append(line[min(indent, strip) :])
            i += 1
        blocks.append("\n".join(body))
        i += 1
    return blocks
