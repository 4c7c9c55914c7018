"""The benchmark's own PostgreSQL server is sized for the machine as a dedicated server would
be (bench/cluster.py), whatever the machine's memory."""

from bench.cluster import production_settings

GIB = 2**30


def test_a_24_gib_machine_gets_a_quarter_as_shared_buffers():
    settings = production_settings(24 * GIB)
    assert settings["shared_buffers"] == "6144MB"
    assert settings["effective_cache_size"] == "18432MB"
    assert settings["maintenance_work_mem"] == "1536MB"
    assert settings["max_wal_size"] == "16GB"
    assert settings["wal_compression"] == "on"


def test_large_machines_are_capped_and_durability_keeps_its_defaults():
    settings = production_settings(256 * GIB)
    assert settings["shared_buffers"] == "8192MB"
    assert settings["maintenance_work_mem"] == "2048MB"
    assert not {"fsync", "synchronous_commit", "full_page_writes"} & settings.keys()
