"""Reading a run's metrics log: logs written before the trainer dropped replayed steps still draw each step once."""

from __future__ import annotations

import json

from explorer.jobs.runlog import read_metrics


def _line(kind: str, step: int, **figures) -> str:
    return json.dumps({"kind": kind, "step": step, **figures}) + "\n"


def test_replayed_steps_replace_the_rows_they_repeat(tmp_path):
    log = tmp_path / "metrics.jsonl"
    log.write_text("".join(_line("progress", s, loss_g=1.0) for s in (1, 2, 3, 4))
                   + _line("quality", 2, swd=9.0) + _line("quality", 4, swd=8.0))
    assert [r["step"] for r in read_metrics(log)[0]] == [1, 2, 3, 4]
    with open(log, "a") as f:                                   # a worker killed after step 4, resumed at 2
        f.write(_line("progress", 3, loss_g=2.0) + _line("progress", 4, loss_g=2.0) + _line("quality", 4, swd=7.0)
                + _line("progress", 5, loss_g=2.0))
    progress, quality = read_metrics(log)
    assert [r["step"] for r in progress] == [1, 2, 3, 4, 5]
    assert [r["loss_g"] for r in progress] == [1.0, 1.0, 2.0, 2.0, 2.0]          # the replayed rows are kept
    assert [(q["step"], q["swd"]) for q in quality] == [(2, 9.0), (4, 7.0)]
