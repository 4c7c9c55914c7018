"""The importer's own COPY text formatting (`registry.importing._copy_text`) writes exactly what
psycopg's public COPY writer writes for the same values. We keep our own because it is faster
per row (docs/internals.md has the figure); this test pins it to the library, so a value psycopg
would format differently fails here, not in a production import."""

import datetime as dt
import io
import os
import uuid

import psycopg
import pytest
from psycopg import Binary
from psycopg.copy import Copy, FileWriter
from psycopg.types.json import Jsonb

from registry.importing import _copy_text

HOSTILE_VALUES = [
    "plain",
    "tab\there",
    "new\nline and carriage\rreturn",
    "back\\slash \\N \\x00",
    "",
    "ünïcødé 🚀 — \u200f",
    None,
    uuid.UUID("0196a3f4-1c2b-7cde-8f00-123456789abc"),
    b"\x00\x01\\\t\n",
    memoryview(b"\xff\xfe"),
    Binary(b"binary\\"),
    Jsonb({"k": "v\t\n\\", "n": [1, 2.5, None, True]}),
    dt.datetime(2026, 12, 7, 3, 24, 47, 831989, tzinfo=dt.UTC),
    dt.date(2024, 1, 2),
    0,
    -9223372036854775808,
    9223372036854775807,
    True,
    False,
]


@pytest.fixture(scope="module")
def cursor():
    url = os.environ.get("CRM_TEST_POSTGRES_URL", "postgres://root@127.0.0.1:5432/postgres")
    with psycopg.connect(url) as connection:
        yield connection.cursor()


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=lambda value: type(value).__name__)
def test_a_value_is_formatted_as_psycopg_formats_it(cursor, value):
    written = io.BytesIO()
    with Copy(cursor, writer=FileWriter(written)) as copy:
        copy.write_row([value])
    assert (_copy_text(value) + "\n").encode() == written.getvalue()


def test_an_unknown_type_is_an_error_not_a_guess():
    with pytest.raises(TypeError, match="no COPY text form"):
        _copy_text(1.5)
