"""Make untrusted text safe to show in a terminal.

Replies, session files and user input may hold terminal control sequences (an OSC 52
clipboard write, a title change, cursor moves). Textual renders text as text, but a raw ESC
or BEL that reached the terminal could still act. Every C0/C1 control character except
newline and tab is replaced by a visible stand-in, so it is shown, never obeyed.
"""

from __future__ import annotations

import re

# C0/C1 controls, plus the bidirectional overrides and isolates, which can make displayed text
# read differently from what it is ("Trojan Source"); ordinary RTL text is left alone.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _stand_in(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # U+2400 block: ␀ ␁ … ␛ (ESC) …
    if code == 0x7F:
        return "\u2421"  # ␡
    if code > 0xFF:
        return f"<U+{code:04X}>"  # a bidi control: named, not obeyed
    return f"<{code:#04x}>"  # C1 controls have no pictures: show the code


def visible(text: str) -> str:
    """`text` with control characters made visible; newlines and tabs kept."""
    text = text.replace("\r\n", "\n")
    return _CONTROL.sub(_stand_in, text)
