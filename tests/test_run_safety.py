"""Run safety: the output-folder lock, resume hashes that cannot skip wrongly, atomic outputs."""

import json
import os
import socket
import subprocess
import sys

import pytest

from pipeline.lock import LOCK_FILE, LockedError, folder_lock


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def write_lock(folder, **holder):
    (folder / LOCK_FILE).write_text(json.dumps({"user": "someone", "started": "2026-01-01T00:00:00+00:00", **holder}))


def test_lock_is_taken_released_and_reentrant_in_its_process(tmp_path):
    with folder_lock(tmp_path) as owner:
        assert json.loads((tmp_path / LOCK_FILE).read_text()) == owner
        assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()
        with folder_lock(tmp_path):  # the CLI holds it, then the runner asks again
            pass
        assert (tmp_path / LOCK_FILE).exists()
    assert not (tmp_path / LOCK_FILE).exists()


def test_a_live_owner_keeps_the_lock_and_is_named(tmp_path):
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        write_lock(tmp_path, host=socket.gethostname(), pid=owner.pid)
        expected = rf"in use by another job \(user someone, host .*, pid {owner.pid},"
        with pytest.raises(LockedError, match=expected), folder_lock(tmp_path):
            pass
        assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == owner.pid
    finally:
        owner.kill()


def test_a_dead_owners_lock_is_taken_over_with_a_log_line(tmp_path, caplog):
    pid = dead_pid()
    write_lock(tmp_path, host=socket.gethostname(), pid=pid)
    with folder_lock(tmp_path) as owner:
        assert owner["pid"] == os.getpid()
    assert f"taking over the stale lock {tmp_path / LOCK_FILE} of process {pid}" in caplog.text


def test_a_lock_from_another_host_is_never_guessed_stale(tmp_path):
    write_lock(tmp_path, host="other-machine.example", pid=dead_pid())
    expected = "host other-machine.example.*remove .*corpus-lock and rerun"
    with pytest.raises(LockedError, match=expected), folder_lock(tmp_path):
        pass


def test_a_half_written_lock_counts_as_stale(tmp_path):
    (tmp_path / LOCK_FILE).write_text('{"user": "x", "ho')
    with folder_lock(tmp_path):
        pass
    assert not (tmp_path / LOCK_FILE).exists()
