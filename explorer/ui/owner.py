"""The session's owner token (whose jobs the Train page lists), kept across reloads in the browser.

A fresh Streamlit session gets a random token; a tiny bidirectional component stores the first
token a browser sees in its localStorage and hands it back on later visits, so a reload (or a
new tab of the same browser) lists the same jobs. Without JavaScript (AppTest, a blocked
storage) the session's own token is used. The token only selects which jobs are listed; each
job's id, kept in the URL, is what controls it.

    owner = owner_token()          # call once near the top of a page
"""

from __future__ import annotations

import secrets

import streamlit as st

_JS = """
export default function(component) {
  const { data, setStateValue } = component;
  let t = null;
  try { t = window.localStorage.getItem('latent-explorer-owner'); } catch (e) {}
  if (!t) { t = data; try { window.localStorage.setItem('latent-explorer-owner', t); } catch (e) {} }
  setStateValue('token', t);
}
"""
_store = st.components.v2.component("latent_explorer_owner", js=_JS)


def _valid(t: object) -> bool:
    return isinstance(t, str) and 16 <= len(t) <= 64 and all(c.isalnum() or c in "-_" for c in t)


def owner_token() -> str:
    ss = st.session_state
    ss.setdefault("owner", secrets.token_urlsafe(16))
    try:
        res = _store(data=ss["owner"], key="owner_store", on_token_change=lambda: None, height=0)
        tok = res.get("token") if hasattr(res, "get") else getattr(res, "token", None)
    except Exception:                    # a Streamlit without bidirectional components: session token only
        tok = None
    if _valid(tok) and tok != ss["owner"]:
        ss["owner"] = tok
    return ss["owner"]
