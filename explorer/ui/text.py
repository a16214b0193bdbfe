"""User text is text: escaping for every Streamlit call that interprets Markdown.

`st.markdown`, `st.caption`, `st.success/info/warning/error`, `st.toast`, headers, expander and
tab labels, widget labels, radio and select-slider options, progress text and image captions
all read GitHub-flavoured Markdown: a job named `[x](http://example.invalid)` becomes a link,
`![i](http://host/p.png)` makes every viewer's browser fetch an image, and bare URLs are
linkified. Anything a person typed or uploaded (job, model, direction, class and file names,
recipe fields, error messages that quote them) goes through `md_escape` before it is mixed
into such a string; alone, it can go to `st.text` / `st.code` instead. The escaping itself lives
with the model cards (`explorer.gan.card.md_escape`), which need it too and sit in a lower layer.

    from explorer.ui.text import md_escape
    st.markdown(f"**{md_escape(job.name)}** — {status}")
    st.image(png, caption=md_escape(class_name))
"""

from __future__ import annotations

from explorer.gan.card import md_escape

__all__ = ["md_escape", "md_quote", "problems_box"]


def md_quote(value: object, limit: int | None = None) -> str:
    """`md_escape(value)` between single quotes: what `{name!r}` gave in prose, made safe."""
    return f"'{md_escape(value, limit)}'"


MAX_LISTED = 8          # problems one warning box lists before "... and N more"


def problems_box(title: str, problems: list[str], limit: int = MAX_LISTED) -> str:
    """One warning box's Markdown for many problems (a link's or a recipe's): `title`, then a bullet per
    problem (escaped), at most `limit` of them, the rest counted: a recipe with 100,000 repeated edits is
    one short box, not hundreds."""
    shown = problems if len(problems) <= limit else [*problems[:limit - 1],
                                                      f"… and {len(problems) - limit + 1} more problems"]
    return title + "\n" + "\n".join(f"- {md_escape(p)}" for p in shown)
