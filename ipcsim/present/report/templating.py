"""The report's Jinja2 templates and style sheet, read as package data.

The page layout, the fixed wording and the styles of the HTML report live in
``ipcsim/present/report/templates/`` (``*.html.j2`` and ``report.css``), so layout and branding
can be changed without reading Python. They are read with :mod:`importlib.resources`, so they
are found in a source tree and in an installed wheel alike.

Autoescaping is on for every template: a value is escaped once, where the template shows it.
Undefined variables are errors, so a misspelt name fails loudly instead of printing nothing.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

__all__ = ["css", "environment", "macros", "render"]

_PACKAGE = "ipcsim.present.report"
_FOLDER = "templates"


def _source(name: str) -> str | None:
    """The text of one file of the templates folder (``None`` when there is no such file)."""
    path = resources.files(_PACKAGE).joinpath(_FOLDER, name)
    if not path.is_file():
        return None
    return path.read_text(encoding="utf-8")


def _fmt(value: Any, spec: str) -> str:
    """``{{ x | fmt(",.0f") }}``: Python's ``format(value, spec)``."""
    return format(value, spec)


@functools.cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the report templates (made once, then shared; read-only).

    Returns
    -------
    jinja2.Environment
        Autoescape on, ``trim_blocks`` and ``lstrip_blocks`` on (a block tag on its own line
        leaves no blank line), undefined names are errors; the filter ``fmt(spec)`` formats a
        number with a Python format spec.
    """
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_source),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["fmt"] = _fmt
    return env


def render(template: str, /, **context: Any) -> str:
    """Render one template of the templates folder.

    Parameters
    ----------
    template
        File name, e.g. ``"report.html.j2"``.
    **context
        The template's variables.

    Returns
    -------
    str
        The rendered text.
    """
    return environment().get_template(template).render(**context)


def macros(name: str) -> Any:
    """The macros of a template, callable from Python (each returns escaped HTML).

    Parameters
    ----------
    name
        File name, e.g. ``"stress.html.j2"``.

    Returns
    -------
    Any
        The template's module: ``macros("stress.html.j2").purpose(...)``.
    """
    return environment().get_template(name).module


def css() -> Markup:
    """The report's style sheet (``report.css``), to inline into the page's ``<style>``.

    Returns
    -------
    Markup
        The CSS, marked safe so autoescaping leaves its quotes alone.

    Raises
    ------
    FileNotFoundError
        When the package was installed without its data files.
    """
    text = _source("report.css")
    if text is None:
        raise FileNotFoundError(f"{_PACKAGE}/{_FOLDER}/report.css: missing from the package")
    return Markup(text)
