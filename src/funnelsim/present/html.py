"""HTML from the jinja2 templates in ``templates/`` (autoescaped; figures pass as markup).

Every piece of HTML the package displays in a notebook is wrapped in an element of class
:data:`NO_MATHS`: JupyterLab, Notebook and Voilà run MathJax over outputs, and MathJax reads
text between two ``$`` signs as maths, so "$60k (95% CI $40k–$80k)" would print as garbled
formulae. The classes tell MathJax 2 (``tex2jax_ignore``) and 3 (``mathjax_ignore``) to
leave the element alone. :func:`frame_html` renders a DataFrame the same way (and with
pandas' ``display.html.use_mathjax`` off, which marks the table itself too).
"""

from __future__ import annotations

import re
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

__all__ = ["TEMPLATES", "NO_MATHS", "render", "no_maths", "frame_html", "maths_spans", "Markup"]

#: the folder of the report's templates and its CSS file
TEMPLATES = Path(__file__).resolve().parent / "templates"
#: the classes that keep MathJax 2 and 3 out of an element (money has dollar signs)
NO_MATHS = "tex2jax_ignore mathjax_ignore"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["j2", "html"]),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)
    env.globals["NO_MATHS"] = NO_MATHS
    return env


def render(template: str, **context: Any) -> str:
    """Render one template of ``templates/`` (a path such as ``"ab/summary.html.j2"``)."""
    return _environment().get_template(template).render(**context)


def no_maths(markup: str, tag: str = "div", css: str = "") -> str:
    """``markup`` inside one element that MathJax leaves alone (``css``: further classes)."""
    classes = f"{css} {NO_MATHS}".strip()
    return f'<{tag} class="{classes}">{markup}</{tag}>'


def frame_html(frame: pd.DataFrame, **to_html: Any) -> str:
    """A DataFrame as HTML no front-end can read as maths: MathJax off in pandas, the table wrapped."""
    with pd.option_context("display.html.use_mathjax", False):
        table = frame.to_html(**to_html)
    return no_maths(table)


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_NOT_TEXT = {"script", "style"}


class _Exposed(HTMLParser):
    """Collects the text MathJax would read: outside <script>/<style> and outside NO_MATHS elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # per open element: is its content hidden from MathJax?
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            return
        classes = set((dict(attrs).get("class") or "").split())
        hidden = (bool(self.stack) and self.stack[-1]) or tag in _NOT_TEXT or bool(
            classes & {"tex2jax_ignore", "mathjax_ignore"})
        self.stack.append(hidden)

    def handle_endtag(self, tag: str) -> None:
        if tag not in _VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]):
            self.text.append(data)


def maths_spans(markup: str) -> list[str]:
    """Text a front-end's MathJax would typeset as maths (``$…$`` outside a :data:`NO_MATHS` element)."""
    parser = _Exposed()
    parser.feed(markup)
    parser.close()
    return re.findall(r"\$[^$]+\$", "".join(parser.text))
