"""connectors.atomicfile: the one atomic writer keeps its promises on a real disk and in memory://."""

from __future__ import annotations

import os

import fsspec
import pytest

from connectors.atomicfile import AtomicFile, is_partial_name, open_atomic, partial_name, write_atomic


class Boom(Exception):
    pass


def _chunks_then_crash():
    yield b"first half"
    raise Boom("the source died mid-write")


def test_crash_mid_write_leaves_no_final_file_and_no_partial(tmp_path):
    final = tmp_path / "photo.jpg"
    with pytest.raises(Boom):
        write_atomic(final, _chunks_then_crash())
    assert list(tmp_path.iterdir()) == []


def test_crash_mid_write_keeps_the_previous_version(tmp_path):
    final = tmp_path / "notes.txt"
    final.write_bytes(b"old, whole")
    with pytest.raises(Boom):
        with AtomicFile(final) as sink:
            sink.write(b"new, ha")
            raise Boom("killed")
    assert final.read_bytes() == b"old, whole"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_never_writes_through_a_planted_symlink(tmp_path, monkeypatch):
    """A link planted at the partial name is not followed: O_EXCL refuses, the target is untouched."""
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    final = tmp_path / "out.bin"
    monkeypatch.setattr("connectors.atomicfile.secrets.token_hex", lambda n: "deadbeef")
    os.symlink(victim, f"{final}.partial-deadbeef")
    with pytest.raises(FileExistsError):
        write_atomic(final, b"attacker-chosen bytes")
    assert victim.read_bytes() == b"precious"
    assert not final.exists()


def test_a_symlink_at_the_final_name_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    final = tmp_path / "out.bin"
    final.symlink_to(victim)
    write_atomic(final, [b"new ", b"bytes"])
    assert not final.is_symlink() and final.read_bytes() == b"new bytes"
    assert victim.read_bytes() == b"precious"


def test_mtime_fsync_and_a_name_chosen_at_commit(tmp_path):
    (tmp_path / "in").mkdir()
    sink = AtomicFile(tmp_path / "in" / "upload", fsync=True, mtime_ns=1_600_000_000_123_456_000)
    assert is_partial_name(os.path.basename(sink.path))
    sink.write(memoryview(b"abc"))
    sink.commit(tmp_path / "kept.txt")
    sink.abort()  # after a commit: nothing to do
    kept = tmp_path / "kept.txt"
    assert kept.read_bytes() == b"abc" and kept.stat().st_mtime_ns == 1_600_000_000_123_456_000
    assert list((tmp_path / "in").iterdir()) == []


def test_abort_inside_the_block_keeps_nothing(tmp_path):
    with AtomicFile(tmp_path / "dup.bin") as sink:
        sink.write(b"same as before")
        sink.abort()
    assert list(tmp_path.iterdir()) == []


def test_remote_file_system_uses_a_partial_object_then_moves_it():
    fs = fsspec.filesystem("memory")
    fs.makedirs("/atomic-test", exist_ok=True)
    try:
        with pytest.raises(Boom):
            with open_atomic(fs, "/atomic-test/a.bin") as sink:
                sink.write(b"half")
                raise Boom("cut")
        assert fs.ls("/atomic-test", detail=False) == []
        assert write_atomic("/atomic-test/a.bin", b"whole", fs=fs) == 5
        assert fs.cat_file("/atomic-test/a.bin") == b"whole"
        assert [p.rsplit("/", 1)[-1] for p in fs.ls("/atomic-test", detail=False)] == ["a.bin"]
    finally:
        fs.rm("/atomic-test", recursive=True)


def test_partial_names_are_recognised():
    assert is_partial_name(os.path.basename(partial_name("/x/a.txt")))
    assert not is_partial_name("a.txt") and not is_partial_name("a.partial-xyz") and not is_partial_name(".partial-00")
