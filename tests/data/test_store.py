"""The versioned store: save/load/versions/restore/diff, conflicts, failed imports, seeding."""

from __future__ import annotations

import threading

import pytest

from studio.data.formats import ImportFailed
from studio.data.schema import DataError
from studio.data.store import DatasetNotFound, DatasetStore, VersionConflict

from .conftest import conv

A = conv(("user", "a"), ("assistant", "A"))
B = conv(("user", "b"), ("assistant", "B"))
C = conv(("user", "c"), ("assistant", "C"))


def test_save_load_versions_and_path(settings):
    store = DatasetStore(settings)
    assert store.list() == [] and store.latest("d") == 0
    assert store.save("d", [A, B], expected_version=0, note="first") == 1
    assert store.save("d", [A, B, C], expected_version=1) == 2
    assert store.load("d") == [A, B, C] and store.load("d", 1) == [A, B]
    assert store.path("d").name == "v0002.jsonl" and store.path("d").parent == settings.datasets_dir / "d"
    [info] = store.list()
    assert (info.name, info.version, info.examples) == ("d", 2, 3) and info.updated_at
    assert [(v.version, v.examples, v.note) for v in store.versions("d")] == [(1, 2, "first"), (2, 3, "")]


def test_diff_and_restore_keep_history(settings):
    store = DatasetStore(settings)
    store.save("d", [A, B])
    store.save("d", [A, C, C])
    assert store.diff("d", 1, 2) == {"from": 1, "to": 2, "from_examples": 2, "to_examples": 3, "added": 2, "removed": 1, "unchanged": 1}
    assert store.restore("d", 1) == 3
    assert store.load("d") == [A, B] and store.load("d", 2) == [A, C, C]
    assert store.versions("d")[-1].note == "restored from v1"


def test_second_editor_gets_a_conflict_and_nothing_is_overwritten(settings):
    store = DatasetStore(settings)
    store.save("d", [A])
    store.save("d", [A, B], expected_version=1)  # editor one
    with pytest.raises(VersionConflict, match="now at version 2, but you started from version 1") as info:
        store.save("d", [A, C], expected_version=1)  # editor two, stale
    assert info.value.latest == 2 and store.load("d") == [A, B]
    assert store.save("d", [A, C], expected_version=info.value.latest) == 3  # "save as new version"
    with pytest.raises(VersionConflict):
        store.save("d", [A], expected_version=0)  # "must be new" but exists


def test_concurrent_saves_get_distinct_versions(settings):
    store = DatasetStore(settings)
    versions, errors = [], []

    def worker(i):
        try:
            versions.append(DatasetStore(settings).save("d", [conv(("user", str(i)), ("assistant", "x"))]))
        except Exception as exc:  # pragma: no cover - shown on failure
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors and sorted(versions) == list(range(1, 9))
    assert len(store.versions("d")) == 8


def test_failed_import_leaves_the_dataset_untouched(settings, tmp_path):
    store = DatasetStore(settings)
    store.save("d", [A, B])
    before = store.path("d").read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text("question,answer\nhi,hello\n")
    with pytest.raises(ImportFailed, match="missing the column"):
        store.import_file("d", bad)
    binary = tmp_path / "bad.jsonl"
    binary.write_bytes(b"\x00\x01\x02")
    with pytest.raises(DataError, match="binary"):
        store.import_file("d", binary)
    assert store.latest("d") == 1 and store.path("d").read_bytes() == before


def test_import_replace_and_append(settings, tmp_path):
    store = DatasetStore(settings)
    store.save("d", [A])
    src = tmp_path / "in.csv"
    src.write_text("user,assistant\nb,B\n")
    result = store.import_file("d", src, append=True)
    assert (result.version, result.examples, result.format) == (2, 2, "csv")
    assert store.load("d") == [A, B]
    assert store.import_file("d", src).examples == 1 and store.load("d") == [B]


def test_bad_names_and_missing_versions(settings):
    store = DatasetStore(settings)
    for name in ("../x", "", "a/b", ".hidden"):
        with pytest.raises(DataError, match="not allowed"):
            store.save(name, [A])
    with pytest.raises(DataError) as huge:  # a 1 MB name used to be echoed back whole
        store.save("x" * 1_000_000, [A])
    assert len(str(huge.value)) < 300
    with pytest.raises(DatasetNotFound):
        store.load("nope")
    store.save("d", [A])
    with pytest.raises(DatasetNotFound, match="no version 5"):
        store.load("d", 5)


def test_seed_starter_once(settings):
    store = DatasetStore(settings)
    assert store.seed_starter() is True
    [info] = store.list()
    assert info.name == "companion-starter" and info.examples >= 120
    assert store.seed_starter() is False  # never twice, even if it is deleted later


def _append_after(barrier, settings, file) -> None:
    barrier.wait()  # both processes read and write at the same moment
    DatasetStore(settings).import_file("shared", file, append=True, author="proc")


def test_parallel_appends_from_processes_lose_no_row(settings, tmp_path):
    """Two `data import --append` at once: before the fix the latest version was read outside the lock."""
    import json
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    store = DatasetStore(settings)
    store.save("shared", [conv(("user", "seed"), ("assistant", "row"))])
    files = []
    for who in ("a", "b"):
        path = tmp_path / f"{who}.jsonl"
        path.write_text("".join(json.dumps(conv(("user", f"{who} {i}"), ("assistant", "ok"))) + "\n" for i in range(30)))
        files.append(path)
    for trial in range(20):
        barrier = ctx.Barrier(2)
        procs = [ctx.Process(target=_append_after, args=(barrier, settings, f)) for f in files]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert all(p.exitcode == 0 for p in procs)
        assert len(store.load("shared")) == 1 + 60 * (trial + 1), f"rows lost in trial {trial + 1}"


def test_restore_version_zero_is_an_error_not_the_latest(settings):
    store = DatasetStore(settings)
    store.save("d", [conv(("user", "a"), ("assistant", "b"))])
    with pytest.raises(DatasetNotFound, match="no version 0"):
        store.restore("d", 0)
    assert store.latest("d") == 1
