"""Mail bodies from Jinja2 templates: a subject, a text body and an HTML body per kind.

The packaged templates live in `authsvc/mail/templates/` as `KIND.subject.txt`, `KIND.txt`
and `KIND.html`; a file of the same name in MAIL_TEMPLATES_DIR replaces one. HTML is
autoescaped, so a username cannot inject markup; undefined variables fail the rendering
instead of leaving holes in a mail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    TemplateNotFound,
)


@dataclass(frozen=True, slots=True)
class RenderedMail:
    subject: str
    text: str
    html: str | None  # None when the kind has no HTML template


class MailRenderer:
    """Renders one kind of mail; built once per app (templates are cached by Jinja2)."""

    def __init__(self, templates_dir: Path | None = None) -> None:
        loaders: list[BaseLoader] = [PackageLoader("authsvc.mail", "templates")]
        if templates_dir is not None:
            loaders.insert(0, FileSystemLoader(templates_dir))
        loader = ChoiceLoader(loaders)
        # Plain text is not markup: escaping it would put "&amp;" into links and names.
        self._text = Environment(
            loader=loader,
            autoescape=False,  # noqa: S701
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )
        self._html = Environment(loader=loader, autoescape=True, undefined=StrictUndefined)

    def render(self, kind: str, context: Mapping[str, object]) -> RenderedMail:
        """Raises: jinja2.TemplateError for a broken or missing template (an operator error)."""
        subject = self._text.get_template(f"{kind}.subject.txt").render(context)
        try:
            html_template = self._html.get_template(f"{kind}.html")
        except TemplateNotFound:
            html = None
        else:
            html = html_template.render(context)
        return RenderedMail(
            # One line: a newline in a header would start another header (or the body).
            subject=" ".join(subject.split()),
            text=self._text.get_template(f"{kind}.txt").render(context),
            html=html,
        )
