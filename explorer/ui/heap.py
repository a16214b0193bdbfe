"""Keep Streamlit's per-rerun garbage collection cheap: freeze the long-lived heap.

    freeze_heap()           # once per process, and after a model is loaded
    freeze_new_modules()    # after each run: again only if a page imported something (sklearn: ~90k objects)
"""

from __future__ import annotations

import gc
import sys

_modules_at_freeze = 0


def freeze_heap() -> None:
    """Move every object alive now (modules, torch, a loaded model) into the GC's permanent generation.

    Streamlit runs a full `gc.collect(2)` after every script run, holding the GIL; with torch loaded
    it scanned ~300k objects, about 160 ms, and the rerun's messages waited behind it (measured: the
    deltas left the server ~120 ms after the script had made them). Frozen objects are never
    scanned, so the collection only walks what the sessions made since. Reference counting still
    frees a frozen object that is dropped (an evicted model); only reference cycles among frozen
    objects are kept for good, so call it at one-time points (process start, a model load), never
    per rerun.
    """
    global _modules_at_freeze
    gc.collect()
    gc.freeze()
    _modules_at_freeze = len(sys.modules)


def freeze_new_modules() -> None:
    """freeze_heap() if modules were imported since the last freeze: a page's first PCA imports sklearn
    (~90k objects, ~70 ms more on every later rerun's collection, measured). Cheap otherwise."""
    if len(sys.modules) > _modules_at_freeze:
        freeze_heap()
