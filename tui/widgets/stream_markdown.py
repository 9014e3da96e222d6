"""The Markdown widget replies are shown in: Textual's, made cheaper to stream into.

Why: while a reply streams, each batch of text goes to the last paragraph, and Textual's
paragraph asks for a layout of the whole screen on every update, then a repaint of all of
it. That is UI-thread Python, and the UI thread shares the GIL with generate: on a 2-core CPU
the app decoded a few percent slower than bare `generate` (bench/app_vs_generate.py). Most
batches add a few words to a line that is already there, so the paragraph's height does not
change: `StreamParagraph` then repaints itself only; when it does need a line it takes a few
spare ones, so the next lines cost no layout either. Every block lays the screen out once per
resize, not twice (one_layout.py). A reply's Markdown also reuses one parser for its appends
instead of building a new one (a third of a millisecond) on every batch.

Public Textual API throughout (`get_block_class`, `parser_factory`, `set_content`/`update`)
but for one name: `MarkdownParagraph` lives in the private `textual.widgets._markdown` and is
subclassed, so that the CSS aimed at it and its in-place update on append still apply.
tests/unit/test_textual_private_hooks.py checks it (and one_layout's hook) on every run.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from markdown_it import MarkdownIt
from textual.await_complete import AwaitComplete
from textual.content import Content
from textual.geometry import Size
from textual.visual import VisualType
from textual.widget import AwaitMount, Widget
from textual.widgets._markdown import MarkdownParagraph  # private: see the module docstring
from textual.widgets.markdown import Markdown, MarkdownBlock

from tui.widgets.one_layout import OneLayout, one_layout

SPARE_LINES = 2
"""Blank lines a streamed paragraph keeps below its text (see StreamParagraph)."""


@cache
def _append_parser() -> MarkdownIt:
    """The parser appends use. One instance is safe here: an append parses synchronously on
    the UI thread, so two never run at once (`update` parses in a worker thread: it gets a
    parser of its own, see StreamMarkdown.update)."""
    return MarkdownIt("gfm-like")


class StreamParagraph(MarkdownParagraph, OneLayout):
    """A paragraph that lays the screen out again only when its text needs more lines.

    While it is the paragraph a live reply is writing into, it holds `SPARE_LINES` blank
    lines below its text when it grows, and fills them before it asks for a layout again:
    a layout (and the repaint of everything that moved, the whole conversation once it
    scrolls) then comes every few lines of text instead of every line. Its Markdown gives
    the lines back (`StreamMarkdown.settle`) once the text moves on to a new block or
    segment; the reply's final render builds new paragraphs."""

    _held = 0  # lines this paragraph keeps for its text while a reply writes into it
    _in_place = False  # set_content is repainting the text without a layout

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(super().get_content_height(container, viewport, width), self._held)

    def set_content(self, content: Content) -> None:
        # A mounted paragraph gets new content only from an append: it is the one being
        # written into, a block of the Markdown itself. (`update` builds new paragraphs, and
        # lists and quotes replace theirs: those are not mounted yet.)
        width, height = self.content_size
        if not width or not self.is_mounted:
            super().set_content(content)
            return
        self._in_place = True
        try:
            super().set_content(content)  # keeps the content, then `update`s: below
        finally:
            self._in_place = False
        lines = super().get_content_height(self.size, self.size, width)
        if lines > height:
            self._held = lines + SPARE_LINES
            self.refresh(layout=True)

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        # Within set_content, above: repaint (and forget the cached height), no layout.
        super().update(content, layout=layout and not self._in_place)

    def release(self) -> None:
        """Give back the spare lines."""
        if self._held:
            self._held = 0
            self.refresh(layout=True)


# Every block lays the screen out once per resize (one_layout.py); paragraphs stream cheaply.
_BLOCKS: dict[str, type[MarkdownBlock]] = {
    **{name: one_layout(block) for name, block in Markdown.BLOCKS.items()},
    "paragraph_open": StreamParagraph,
}


class StreamMarkdown(Markdown, OneLayout):
    """Textual's Markdown with `StreamParagraph`s, blocks that lay the screen out once per
    resize (see one_layout.py), and a parser shared by appends."""

    _updating = False  # `update` is asking for its parser

    def __init__(self, markdown: str | None = None, **kwargs: object) -> None:
        super().__init__(markdown, parser_factory=self._stream_parser, **kwargs)  # type: ignore[arg-type]

    def _stream_parser(self) -> MarkdownIt:
        # `update` parses in a thread of the executor: it gets a parser of its own (it asks
        # before it returns, on this thread); appends share one.
        return MarkdownIt("gfm-like") if self._updating else _append_parser()

    def update(self, markdown: str) -> AwaitComplete:
        self._updating = True
        try:
            return super().update(markdown)
        finally:
            self._updating = False

    def get_block_class(self, block_name: str) -> type[MarkdownBlock]:
        return _BLOCKS[block_name]

    def mount_all(
        self,
        widgets: Iterable[Widget],
        *,
        before: int | str | Widget | None = None,
        after: int | str | Widget | None = None,
    ) -> AwaitMount:
        # An append mounts new blocks below the text: the paragraphs above give their spare
        # lines back now, in the same layout as the mount (after it would be a second one).
        self.settle()
        return super().mount_all(widgets, before=before, after=after)

    def settle(self) -> None:
        """Paragraphs give back their spare lines: the stream moved past them."""
        for block in self.children:
            if isinstance(block, StreamParagraph):
                block.release()
