"""A really full disk (a small tmpfs in a mount namespace): reading commands keep working,
writing ones fail with one readable line, and nothing committed is lost."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("_disk_full_worker.py")
ROOT = WORKER.parents[2]
FULL = "디스크가 가득 차서"


def _can_mount_tmpfs(where: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", 'mount -t tmpfs -o size=1m tmpfs "$1"', "sh", str(where)],
        capture_output=True,
        timeout=30,
    )
    return probe.returncode == 0


@pytest.fixture(scope="module")
def steps(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """What each CLI command did on the full disk (run once: a few seconds)."""
    base = tmp_path_factory.mktemp("diskfull")
    mount = base / "mnt"
    mount.mkdir()
    if not _can_mount_tmpfs(mount):
        pytest.skip("no user namespaces here to mount a small tmpfs in")
    docs = base / "docs"
    docs.mkdir()
    (docs / "seoul.txt").write_text("서울의 인구는 약 940만 명이다. 수도이다.", encoding="utf-8")
    (docs / "busan.txt").write_text("부산은 항구 도시이다. 해운대가 있다.", encoding="utf-8")
    lines = [f"{n}번째 문장은 디스크를 채우려고 쓴 한국어 문장이다." for n in range(6_000)]
    (docs / "big.txt").write_text("\n".join(lines), encoding="utf-8")  # ~300 KB
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    script = 'mount -t tmpfs -o size=4m tmpfs "$1" && exec "$2" "$3" "$1" "$4"'
    command = ["unshare", "-rm", "sh", "-c", script, "sh", str(mount), sys.executable]
    done = subprocess.run(
        [*command, str(WORKER), str(docs)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_reading_commands_work_while_the_disk_is_full(steps: dict) -> None:
    assert steps["first ingest"]["code"] == 0
    assert steps["free bytes when full"] < 8192
    for step in ("docs", "search", "check"):
        assert steps[step]["exception"] is None, steps[step]
        assert steps[step]["code"] == 0, steps[step]
    assert "seoul.txt" in steps["docs"]["output"]
    assert "서울의 인구는" in steps["search"]["output"]
    assert "1 documents, 1 chunks, 1 vectors\nok" in steps["check"]["output"]


@pytest.mark.parametrize("step", ["ingest when full", "remove when full", "ingest too big"])
def test_writing_on_a_full_disk_fails_with_one_readable_line(steps: dict, step: str) -> None:
    result = steps[step]
    assert result["exception"] is None, result  # no traceback
    assert result["code"] == 1
    assert FULL in result["output"]
    assert "(disk full, cannot write " in result["output"]
    assert "Traceback" not in result["output"]
    assert "cannot rollback" not in result["output"]


def test_sqlite_meeting_the_full_disk_mid_commit_is_reported_as_such(steps: dict) -> None:
    output = steps["ingest too big"]["output"]
    assert "big.txt: 디스크가 가득 차서" in output
    assert "database or disk is full" in output


def test_nothing_committed_is_lost_and_the_index_is_sound_once_there_is_room(steps: dict) -> None:
    assert steps["check after"]["code"] == 0, steps["check after"]
    assert steps["check after"]["output"].endswith("ok\n")
    assert steps["docs after"]["output"].count("\n") == 1  # seoul.txt alone
    assert steps["ingest after"]["code"] == 0, steps["ingest after"]
