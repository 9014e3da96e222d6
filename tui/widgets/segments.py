"""Where a streaming Markdown reply may be cut into separately laid-out segments.

Why: Textual lays out a Markdown widget by arranging every block in it, and any change to the
last block clears that arrangement. Streaming a long reply into one widget therefore costs
time proportional to the reply's length on every update: quadratic in total. Cutting the
stream into segments of bounded size keeps each update's layout work bounded, because a
finished segment's arrangement stays cached (bench/stream_render_scaling.py measures it).

A cut must not change what the Markdown means: only at a blank line, outside a code fence,
and where the next line starts a new top-level block (not indented, so not a list item's
continuation or indented code). When the reply ends, it is shown again as one document.
"""

from __future__ import annotations

import re

# About 10-20 blocks of an ordinary reply: small enough that re-arranging one is cheap, large
# enough that a reply needs few segments.
SEGMENT_CHARS = 1500

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})", re.MULTILINE)


def in_fence(source: str) -> bool:
    """True when `source` ends inside an open ``` or ~~~ code fence."""
    open_marker: str | None = None
    for match in _FENCE.finditer(source):
        marker = match.group(1)
        if open_marker is None:
            open_marker = marker
        elif marker[0] == open_marker[0] and len(marker) >= len(open_marker):
            open_marker = None
    return open_marker is not None


def find_cut(segment: str, incoming: str, min_chars: int = SEGMENT_CHARS) -> int | None:
    """Where in `incoming` a new segment may begin, given the current segment's `segment`.

    Returns an index into `incoming` (text before it belongs to the current segment, text from
    it on starts the next), or None: no safe cut yet, keep appending."""
    if len(segment) + len(incoming) < min_chars:
        return None
    text = segment + incoming
    # Search only where the cut would leave the current segment at least min_chars long, and
    # would fall inside `incoming` (what is already written to a segment stays there).
    start = max(len(segment), min_chars)
    pos = text.find("\n\n", max(start - 2, 0))
    while pos != -1:
        cut = pos + 2
        while cut < len(text) and text[cut] == "\n":
            cut += 1
        if cut >= len(text):
            return None  # the next block has not arrived: decide on the next write
        if cut >= len(segment) and not text[cut].isspace() and not in_fence(text[:cut]):
            return cut - len(segment)
        pos = text.find("\n\n", cut)
    return None
