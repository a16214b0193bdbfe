"""The app's page list and the sidebar model picker, shared by every page.

The picker is drawn by the entrypoint before the page runs, so its widget ("model") keeps its
value across pages. A link's `?m=` query parameter preselects the model on a session's first run.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import streamlit as st

from explorer.gan import checkpoint
from explorer.gan.checkpoint import ModelInfo
from explorer.settings import data_dir, pretrained_dir, use_threads
from explorer.ui import sticky
from explorer.ui.text import md_escape, md_quote

PAGES = (      # (script, title, icon, url_path); the first is the default page, at the app's root
    ("explorer/ui/explore_page.py", "Explore", "🎛️", ""),
    ("explorer/ui/interpolate_page.py", "Interpolate", "🎞️", "interpolate"),
    ("explorer/ui/export_page.py", "Export & share", "📤", "export"),
    ("explorer/ui/train_page.py", "Train", "🏋️", "train"),
    ("explorer/ui/playground_page.py", "GAN playground", "🎯", "playground"),
    ("explorer/ui/latent_map_page.py", "Latent map", "🗺️", "latent-map"),
    ("explorer/ui/classes_page.py", "Classes", "🧬", "classes"),
    ("explorer/ui/quiz_page.py", "Real or fake?", "🕵️", "quiz"),
    ("explorer/ui/models_page.py", "Models", "🗂️", "models"),
)


def all_pages() -> list:
    """Every page, then for each whose path has a hyphen a hidden alias with an underscore (/latent_map) that
    forwards to it: typed with an underscore, the path used to open the default page (Explore) instead."""
    shown = [st.Page(script, title=title, icon=icon, url_path=path or None, default=not path)
             for script, title, icon, path in PAGES]
    return shown + [_alias(script, title, path) for script, title, _, path in PAGES if "-" in path]


def _alias(script: str, title: str, path: str) -> Any:
    """A hidden page at `path` with "_" for "-" that switches to the page of `script` (so the address bar shows
    its own path and the sidebar marks it), keeping the query (a link's ?m=)."""
    def forward() -> None:
        st.switch_page(script, query_params=st.query_params.to_dict())
    return st.Page(forward, title=title, url_path=path.replace("-", "_"), visibility="hidden")


@st.cache_data(ttl=30, show_spinner=False)
def _models(pretrained: str, runs: str, stamp: tuple) -> list[ModelInfo]:
    return checkpoint.list_models(Path(pretrained), Path(runs))


def _stamp(*folders: Path) -> tuple:
    """Names and mtimes of the model sidecars: a finished run changes it, so the list refreshes at once."""
    out = []
    for f in folders:
        for p in sorted(f.glob("*.json")) + sorted(f.glob("*/model.json")):
            try:
                out.append((str(p), p.stat().st_mtime_ns))
            except OSError:
                pass
    return tuple(out)


FIRST = ("fonts",)          # shipped models the app opens on, in this order, when they are there


def models() -> list[ModelInfo]:
    """Every shipped model and every finished run (rescanned when a sidecar appears or changes); the
    shipped models named in FIRST lead, so the app opens on the fonts model when it is installed."""
    pre, runs = pretrained_dir(), data_dir() / "runs"
    found = _models(str(pre), str(runs), _stamp(pre, runs))
    rank = {name: i for i, name in enumerate(FIRST)}
    return sorted(found, key=lambda m: rank.get(m.name, len(FIRST)) if m.source == "pretrained" else len(FIRST))


def label(m: ModelInfo) -> str:
    return f"{m.name} ({m.source})"


@st.cache_resource(show_spinner=False)
def _process_setup() -> int:
    """Once per server process: the server's thread policy (settings.thread_count("serve"): one torch
    intra-op thread unless $LATENT_EXPLORER_THREADS says otherwise), then a frozen heap."""
    n = use_threads("serve")
    from explorer.ui.heap import freeze_heap
    freeze_heap()
    return n


def keep_link_model() -> None:
    """First thing on a session's first run: keep the link's model (`?m=`). A click on a page link that
    interrupts this first run reruns on the new page without the link's query, before `sidebar` could
    read it (reading query params sends nothing to the browser, so it cannot be interrupted)."""
    ss = st.session_state
    if "_link_model" not in ss:
        ss["_link_model"] = st.query_params.get("m") or ""
        ss["_link_ck"] = st.query_params.get("ck") or ""


def link_hit(ms: list[ModelInfo], labels: list[str], name: str | None, ck: str | None) -> str | None:
    """The picker label of the model a link names: `m` (`name`) and, when several models share that name
    (a run named like a shipped model), the one whose weights' sha256 starts with the link's `ck`."""
    named = [(m, lab) for m, lab in zip(ms, labels) if m.name == name]
    ck = (ck or "").lower()
    exact = [lab for m, lab in named if ck and str(m.meta.get("sha256", "")).lower().startswith(ck)]
    found = exact or [lab for _, lab in named]
    return found[0] if found else None


def sidebar() -> None:
    _process_setup()
    ms = models()
    labels = [label(m) for m in ms]
    st.session_state["_picker_labels"] = labels          # what the picker offers (see picker_is_stale)
    if not ms:
        return
    # a run interrupted before the picker was drawn (a quick click after opening a link) loses a widget's
    # value: the choice is kept as a sticky value too, and put back when the widget's is gone
    sticky.restore(["model"])
    if "model" not in st.session_state and not st.session_state.get("_qp_model_done"):
        st.session_state["_qp_model_done"] = True
        wanted = st.query_params.get("m") or st.session_state.get("_link_model") or None
        ck = st.query_params.get("ck") or st.session_state.get("_link_ck") or None
        hit = link_hit(ms, labels, wanted, ck)
        if hit:
            sticky.put("model", hit)
        elif wanted:
            st.session_state["_notes"] = [f"model {md_quote(wanted)} from the link is not here; "
                                          f"showing {md_quote(ms[0].name)}"]        # notes are Markdown
            st.session_state["_qp_model_missing"] = True
    elif (qp := st.query_params.to_dict()) and qp != st.session_state.get("_url"):
        # Back/Forward to a link of another model (the Explore page writes "_url"): follow it
        hit = link_hit(ms, labels, qp.get("m"), qp.get("ck"))
        if hit:
            sticky.put("model", hit)
    if st.session_state.get("model") not in labels:
        st.session_state.pop("model", None)
    # index= the current choice, not 0: after a page switch the browser may remount the picker from its
    # proto's default and send that back on the next rerun, dropping a model set by a link or a handoff
    st.sidebar.selectbox("Model", labels, key="model", index=labels.index(st.session_state.get("model", labels[0])),
                         help="Shipped models and models trained in this app")
    sticky.remember(["model"])
    info = current_model()
    if info is not None:
        with st.sidebar.expander("Model card"):
            st.markdown(info.meta.get("model_card") or "_No model card._")


def picker_is_stale(ss: Mapping[str, Any] | None = None) -> bool:
    """True when the models on disk differ from those the sidebar's picker offered on this session's
    last full run (`ss`: the session state, st.session_state by default): a fragment (e.g. the Train
    page's jobs, where a finished or kept run appears) redraws only itself, so it reruns the whole app
    to bring the picker up to date."""
    shown = (st.session_state if ss is None else ss).get("_picker_labels")
    return shown is not None and shown != [label(m) for m in models()]


def current_model() -> ModelInfo | None:
    ms = models()
    if not ms:
        return None
    labels = [label(m) for m in ms]
    chosen = st.session_state.get("model")
    return ms[labels.index(chosen)] if chosen in labels else ms[0]


def engine_or_stop():
    """The chosen model's shared Engine, or a clear message and st.stop()."""
    from explorer.ui.engine import get_engine
    info = current_model()
    if info is None:
        st.warning("No models found in pretrained/ or the runs folder. Train one with `latent-explorer train`.")
        st.stop()
    try:
        return get_engine(str(info.path), str(info.meta.get("sha256", "")))
    except (checkpoint.CheckpointError, OSError, ValueError) as e:
        st.error(f"The model {md_quote(info.name)} cannot be loaded: {md_escape(e)}")
        st.stop()
