"""Reading uploads (pypdf for PDFs) and splitting them with LangChain's text splitters.

Plain text goes through RecursiveCharacterTextSplitter (paragraphs, then lines, then words),
markdown through MarkdownTextSplitter (headings and blocks first). HTML is turned into
markdown-like text first (headings as `#` lines, blocks as paragraphs, scripts and styles
dropped, with the standard library's HTML parser) and split as markdown: LangChain's HTML
splitters need lxml or BeautifulSoup, and its HTML separators would leave tags in the chunks
that get embedded. Lengths are in characters, as chunk_size and chunk_overlap are.
"""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

from langchain_text_splitters import (
    MarkdownTextSplitter,
    RecursiveCharacterTextSplitter,
    TextSplitter,
)

from fastwrap.domain.errors import Invalid
from fastwrap.domain.knowledge import DocumentFormat
from fastwrap.ports.documents import DocumentReader

HEADINGS = {"h1": "# ", "h2": "## ", "h3": "### ", "h4": "#### ", "h5": "##### ", "h6": "###### "}
BLOCKS = frozenset(
    {"p", "div", "br", "li", "tr", "table", "section", "article", "header", "footer", "ul", "ol",
     "blockquote", "pre", "hr", "main", "nav", "aside", *HEADINGS}
)  # fmt: skip
_SPACES = re.compile(r"\s+")
SKIPPED = frozenset({"script", "style", "head", "template", "noscript"})


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED:
            self._skipping += 1
        elif tag in BLOCKS:
            self.parts.append("\n\n" + HEADINGS.get(tag, "- " if tag == "li" else ""))

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(_SPACES.sub(" ", data))


def html_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    paragraphs = (" ".join(p.split()) for p in "".join(parser.parts).split("\n\n"))
    return "\n\n".join(p for p in paragraphs if p)


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise Invalid(f"the file is not a readable PDF ({type(exc).__name__})") from exc
    return "\n\n".join(page.strip() for page in pages if page.strip())


def clean(text: str) -> str:
    """What a text column can hold: no NUL (PDFs carry them), line ends normalised."""
    return text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")


class LangChainDocumentReader(DocumentReader):
    def text_of(self, data: bytes, format: DocumentFormat) -> str:
        if format == "pdf":
            return clean(pdf_text(data))
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Invalid(f"a {format} document must be UTF-8 text") from exc
        return clean(html_text(text) if format == "html" else text)

    def split(self, text: str, format: DocumentFormat, size: int, overlap: int) -> list[str]:
        splitter: TextSplitter
        if format in ("markdown", "html"):
            splitter = MarkdownTextSplitter(chunk_size=size, chunk_overlap=overlap)
        else:
            splitter = RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=overlap)
        return [chunk for chunk in splitter.split_text(text) if chunk.strip()]
