"""HTML from the jinja2 templates in ``templates/`` (autoescaped; figures pass as markup)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

__all__ = ["TEMPLATES", "render", "Markup"]

#: the folder of the report's templates and its CSS file
TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["j2", "html"]),
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)


def render(template: str, **context: Any) -> str:
    """Render one template of ``templates/`` (a path such as ``"ab/summary.html.j2"``)."""
    return _environment().get_template(template).render(**context)
