"""The benchmark's own PostgreSQL server is sized for the machine as a dedicated server would
be (bench/cluster.py), whatever the machine's memory."""

import subprocess
import sys
from pathlib import Path

from bench.cluster import built_with_lz4, production_settings

GIB = 2**30


def test_a_24_gib_machine_gets_a_quarter_as_shared_buffers():
    settings = production_settings(24 * GIB)
    assert settings["shared_buffers"] == "6144MB"
    assert settings["effective_cache_size"] == "18432MB"
    assert settings["maintenance_work_mem"] == "1536MB"
    assert settings["max_wal_size"] == "16GB"
    assert settings["wal_compression"] == "on"  # pglz: every server has it


def test_large_machines_are_capped_and_durability_keeps_its_defaults():
    settings = production_settings(256 * GIB)
    assert settings["shared_buffers"] == "8192MB"
    assert settings["maintenance_work_mem"] == "2048MB"
    assert not {"fsync", "synchronous_commit", "full_page_writes"} & settings.keys()


def test_full_page_images_are_compressed_with_lz4_where_the_server_has_it():
    assert production_settings(24 * GIB, lz4=True)["wal_compression"] == "lz4"


def fake_bindir(tmp_path: Path, configure: str) -> Path:
    tmp_path.mkdir()
    pg_config = tmp_path / "pg_config"
    pg_config.write_text(f'#!/bin/sh\necho "{configure}"\n')
    pg_config.chmod(0o755)
    return tmp_path


def test_lz4_support_is_read_from_the_servers_build(tmp_path):
    with_lz4 = fake_bindir(tmp_path / "a", "'--with-icu' '--with-lz4' '--with-zstd'")
    without = fake_bindir(tmp_path / "b", "'--with-icu' '--with-zstd'")
    assert built_with_lz4(with_lz4)
    assert not built_with_lz4(without)
    assert not built_with_lz4(tmp_path / "missing")  # no pg_config: the default compression


def test_a_second_benchmark_is_refused_while_one_holds_the_server(tmp_path):
    """`bench.run.hold_server`: every `make bench*` restarts the benchmark's server, so a
    second command must not start while a first one runs; once the first ends, it may."""
    root = Path(__file__).resolve().parent.parent
    hold = (
        "import sys; from pathlib import Path; from bench.run import hold_server;"
        " hold_server(Path(sys.argv[1])); print('held', flush=True); sys.stdin.read()"
    )
    command = [sys.executable, "-c", hold, str(tmp_path)]
    first = subprocess.Popen(
        command, cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert first.stdout.readline().strip() == "held"
        second = subprocess.run(
            command, cwd=root, input="", capture_output=True, text=True, timeout=60
        )
        assert second.returncode == 1
        assert f"another benchmark (pid {first.pid}) is using the server" in second.stderr
    finally:
        first.stdin.close()
        first.wait(timeout=60)
    third = subprocess.run(command, cwd=root, input="", capture_output=True, text=True, timeout=60)
    assert third.returncode == 0
    assert third.stdout.strip() == "held"
