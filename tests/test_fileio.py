"""explorer.fileio: atomic writes, and read-modify-write updates that lose nothing under concurrency.

Two browser sessions naming directions at the same moment used to lose names (each read the file,
added its own, and wrote back over the other's). Every shared JSON file the server updates goes
through `locked_update`; these tests hammer it, and the direction-names and speed-cache files that
use it, from many threads and from several processes at once."""

from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path

from explorer import fileio
from explorer.explore.direction_cache import load_direction_names, save_direction_names

META = {"sha256": "ab" * 32}
THREADS, PER_THREAD = 8, 5
PROCS, PER_PROC = 4, 5


def _add(path: str, key: str) -> None:
    fileio.locked_update(path, lambda d: {**d, key: True}, default={})


def _proc_adds(path: str, who: int) -> None:
    for i in range(PER_PROC):
        _add(path, f"p{who}-{i}")


def _proc_names(folder: str, who: int) -> None:
    for i in range(PER_PROC):
        save_direction_names(META, "pca", {who * PER_PROC + i: f"name {who}-{i}"}, folder)


def _run_threads(target, n: int) -> None:
    barrier = threading.Barrier(n)

    def go(who: int) -> None:
        barrier.wait()                                     # all start at the same moment
        target(who)
    ts = [threading.Thread(target=go, args=(w,)) for w in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def _run_procs(target, args: list[tuple]) -> None:
    ctx = multiprocessing.get_context("fork")              # nothing here needs a fresh interpreter
    ps = [ctx.Process(target=target, args=a) for a in args]
    for p in ps:
        p.start()
    for p in ps:
        p.join(60)
        assert p.exitcode == 0


def test_locked_update_loses_nothing_across_threads_and_processes(tmp_path):
    path = tmp_path / "shared.json"
    _run_threads(lambda who: [_add(str(path), f"t{who}-{i}") for i in range(PER_THREAD)], THREADS)
    _run_procs(_proc_adds, [(str(path), w) for w in range(PROCS)])
    got = json.loads(path.read_text())
    assert len(got) == THREADS * PER_THREAD + PROCS * PER_PROC
    assert fileio.lock_path(path).name == ".shared.json.lock" and fileio.lock_path(path).exists()


def test_locked_update_starts_from_the_default_and_keeps_the_file_on_errors(tmp_path):
    path = tmp_path / "sub" / "x.json"
    default = {"n": 0}
    assert fileio.locked_update(path, lambda d: {**d, "n": d["n"] + 1}, default=default) == {"n": 1}
    assert default == {"n": 0}                              # the default itself is never changed

    def boom(d: dict) -> dict:
        raise ValueError("no")
    try:
        fileio.locked_update(path, boom, default={})
    except ValueError:
        pass
    assert json.loads(path.read_text()) == {"n": 1}
    path.write_text("{not json")                            # a corrupt file counts as missing
    assert fileio.locked_update(path, lambda d: d, default={"fresh": 1}) == {"fresh": 1}


def test_two_sessions_naming_directions_at_once_keep_every_name(tmp_path):
    folder = tmp_path / "cache"

    def name_some(who: int) -> None:
        for i in range(PER_THREAD):
            save_direction_names(META, "pca", {who * PER_THREAD + i: f"name {who}-{i}"}, folder)
    _run_threads(name_some, THREADS)
    names = load_direction_names(META, "pca", THREADS * PER_THREAD, folder)
    assert names == [f"name {i // PER_THREAD}-{i % PER_THREAD}" for i in range(THREADS * PER_THREAD)]

    procs = tmp_path / "procs"
    _run_procs(_proc_names, [(str(procs), w) for w in range(PROCS)])
    names = load_direction_names(META, "pca", PROCS * PER_PROC, procs)
    assert names == [f"name {i // PER_PROC}-{i % PER_PROC}" for i in range(PROCS * PER_PROC)]


def test_speed_cache_entries_from_concurrent_writers_are_all_kept(tmp_path, monkeypatch):
    from explorer.jobs import speed
    monkeypatch.setattr(speed, "_cache_path", lambda: Path(tmp_path) / "speed-cache.json")

    def store(who: int) -> None:
        for i in range(PER_THREAD):
            speed._store(f"k{who}-{i}", speed.Estimate(0.1, "cpu", 1, "measured"))
    _run_threads(store, THREADS)
    _run_procs(_speed_proc, [(str(tmp_path), w) for w in range(PROCS)])
    assert len(json.loads((tmp_path / "speed-cache.json").read_text())) == THREADS * PER_THREAD + PROCS * PER_PROC


def _speed_proc(folder: str, who: int) -> None:
    from explorer.jobs import speed
    speed._cache_path = lambda: Path(folder) / "speed-cache.json"      # this child only
    for i in range(PER_PROC):
        speed._store(f"p{who}-{i}", speed.Estimate(0.1, "cpu", 1, "measured"))


def test_loads_json_turns_every_parse_failure_into_one_error(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    for bad in (deep, deep.encode(), b"\xff{", "{nope", None):
        try:
            fileio.loads_json(bad, "the recipe")                     # type: ignore[arg-type]
        except ValueError as e:
            assert str(e).startswith("the recipe is not")
        else:
            raise AssertionError(f"{bad!r:.20} parsed")
    assert fileio.loads_json('{"a": [1]}') == {"a": [1]}
    p = tmp_path / "deep.json"
    p.write_text(deep)
    try:
        fileio.read_json_object(p, "a model card")
    except ValueError as e:
        assert "deep.json" in str(e)
    else:
        raise AssertionError("parsed")
    assert fileio.locked_update(p, lambda v: v, default={"ok": 1}) == {"ok": 1}


def test_human_size_picks_the_unit_that_reads_best():
    from explorer.fileio import human_size
    assert [human_size(n) for n in (0, 1, 812, 1024, 14_500, 20 * 1024 ** 2, int(3.25 * 1024 ** 2), 5 * 1024 ** 4)] \
        == ["0 bytes", "1 byte", "812 bytes", "1.0 KB", "14 KB", "20 MB", "3.2 MB", "5120 GB"]
