"""User text is text, on every page: a model whose class names, model card, direction names and training
jobs carry Markdown (a link and an outside image) is opened on each page through AppTest, and every string
the browser would read as Markdown (markdown, captions, alerts, headings, toasts, widget labels and help,
radio and select-slider options, expander and tab labels, image captions, progress text) must render
with no link and no image: the hostile text shows as text."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import element_tree as et

from explorer.data.store import save_dataset
from explorer.explore.direction_cache import save_direction_names
from explorer.gan import checkpoint as ckpt
from explorer.gan.card import md_escape, model_card
from explorer.jobs.registry import JobRegistry, make_spec
from explorer.jobs.runlog import job_card
from tests.factories import export_generator, make_dataset, use_dirs

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")
HOSTILE = "[x](http://example.invalid) ![i](http://127.0.0.1:9/p.png)"
CLASSES = [HOSTILE, "![c](http://127.0.0.1:9/c.png)", "**b** <img src=x> $x$ :red[r]"]
OWNER = "owner-token-for-the-plain-text-test"
PAGES = ["explore", "interpolate", "export", "train", "playground", "latent_map", "classes", "quiz", "models"]
_MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])
_LINKIFIED = re.compile(r"(?i)https?://|www\.|[-.\w+]@[-\w]+\.")       # GFM autolink literals


def markdown_texts(at: AppTest) -> list[tuple[str, str]]:
    """(where, text) of every string on the page that Streamlit renders as Markdown."""
    out: list[tuple[str, str]] = []
    for node in at._tree:
        kind = type(node).__name__
        if isinstance(node, (et.Markdown, et.AlertBase, et.HeadingBase, et.Toast)):
            out.append((kind, str(node.value)))
        if isinstance(node, et.Image):
            out += [(kind, c) for c in node.captions if c]
        if isinstance(node, et.Progress) and node.proto.text:
            out.append((kind, node.proto.text))
        for attr in ("label", "help"):
            text = getattr(node, attr, None) if isinstance(node, (et.Widget, et.Expander, et.Tab, et.Status)) \
                else None
            if isinstance(text, str) and text:
                out.append((f"{kind}.{attr}", text))
        if isinstance(node, (et.Radio, et.SelectSlider)):
            out += [(f"{kind}.option", str(o)) for o in node.options]
    return out


def unsafe(texts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The strings that would render a link or an image, or leave a URL or e-mail address in the rendered text
    (remark-gfm, Streamlit's renderer, linkifies those in text nodes, after escapes are resolved)."""
    def bad(text: str) -> bool:
        page = _MD.render(text)
        shown = html.unescape(re.sub(r"<[^>]*>", "", page))
        return "<a " in page or "<img" in page or bool(_LINKIFIED.search(shown))
    return [(where, text) for where, text in texts if bad(text)]


@pytest.fixture
def hostile(tmp_path, monkeypatch):
    meta_card = {"generator": {"resolution": 32, "channels": 1, "arch": "film", "num_classes": 3},
                 "class_names": CLASSES, "dataset": {"spec": HOSTILE, "count": 3}}
    G, side = export_generator(tmp_path / "pre" / "tiny", CLASSES, model_card=model_card(HOSTILE, meta_card))
    use_dirs(monkeypatch, tmp_path)
    meta = json.loads(side.read_text())
    save_direction_names(meta, "pca", {0: HOSTILE, 1: CLASSES[1]})
    save_direction_names(meta, "sefa", {0: HOSTILE})
    reg = JobRegistry(tmp_path / "data" / "jobs.sqlite3")
    ds = save_dataset(make_dataset(n=8, classes=3), tmp_path / "ds")

    def spec() -> dict:        # device "cpu": the app's scheduler (device "auto") never starts these
        return make_spec(ds, preset="tiny", resolution=32, channels=1, num_classes=3, name=HOSTILE, device="cpu",
                         steps=4)
    done = reg.submit(OWNER, spec())
    job = reg.claim_next("cpu")
    run = Path(job.run_dir)
    card = job_card(HOSTILE, {**meta_card, "generator": meta_card["generator"]}, job.spec, [])
    ckpt.save_generator(run / "model", G, {"class_names": CLASSES, "model_card": card, "job_name": HOSTILE})
    (run / "model_card.md").write_text(card)
    reg.add_message(done, "info", f"fine-tuning from {HOSTILE}")
    reg.finish(done, "done")
    queued = reg.submit(OWNER, spec())
    return {"done": done, "queued": queued}


def test_hostile_names_render_as_text_on_every_page(hostile):
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["owner"] = OWNER
    at.query_params["job"] = [hostile["queued"], hostile["done"]]
    at.run()
    assert not at.exception, at.exception
    shown: dict[str, list[str]] = {}
    offenders: list[tuple[str, str, str]] = []
    for page in PAGES:
        at.switch_page(f"explorer/ui/{page}_page.py")
        if page == "train":
            at.query_params["job"] = [hostile["queued"], hostile["done"]]
        at.run()
        assert not at.exception, (page, at.exception)
        texts = markdown_texts(at)
        shown[page] = [t for _, t in texts]
        offenders += [(page, where, text) for where, text in unsafe(texts)]
    assert not offenders, "user text rendered as Markdown:\n" + "\n".join(map(repr, offenders))
    escaped = md_escape(HOSTILE)
    for page in ("explore", "train", "classes", "models"):          # the hostile text did reach these pages
        assert any(escaped in t for t in shown[page]), (page, shown[page][:20])
    assert any(t.startswith(f"**{escaped}** — ") for t in shown["train"])            # the job's title


def test_model_cards_escape_every_user_value():
    meta = {"generator": {"resolution": 32, "channels": 1, "arch": "film", "num_classes": 3},
            "class_names": CLASSES, "dataset": {"spec": HOSTILE, "count": 3},
            "training": {"preset": HOSTILE, "train_config": {"augment": "a`b", "loss": HOSTILE}}}
    cards = [model_card(HOSTILE, meta, {"reference": HOSTILE, "samples": 4}, reproduce="x ``` y"),
             job_card(HOSTILE, meta, {"init_from": f"/m/{HOSTILE}.json"}, [])]
    for card in cards:
        assert not unsafe([("card", card)]), card
        assert "http:\u2060//example.invalid" in card and card.startswith(f"# {md_escape(HOSTILE)}\n")
    assert "````\nx ``` y\n````" in cards[0]                            # a fence longer than the command's


@pytest.mark.parametrize("text", [":red[z]", ":material/home:", ":smile:", ":blue-background[x]", ":rainbow[a]",
                                  "**bold** <b>x</b> [l](http://a) :red[z] $x$"])
def test_md_escape_neutralises_colon_directives_and_maths(text):
    out = md_escape(text)
    assert out.replace("\u2060", "").replace("\\", "") == text.replace("\\", "")   # reads the same
    assert not re.search(r":[A-Za-z0-9_+/-]", out), out                 # no ':name' left for Streamlit
    assert not re.search(r"(?<!\\)\$", out), out                         # every $ escaped: no maths
    assert "http:\u2060//" in md_escape("see http://a") and md_escape("v 0.7 (x)") == "v 0.7 (x)"
