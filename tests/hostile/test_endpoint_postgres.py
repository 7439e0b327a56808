"""The auditor view on a PostgreSQL consent log: PostgreSQL refuses a NUL in text, so a
NUL in a filter must be the visitor's 400, not the log's 503."""

from __future__ import annotations

import pytest

from tests.hostile.site import app
from tests.hostile.target import AUTH, PREFIX, Target, check_answer

QUERIES = [
    "/audit/consent?id=%00",
    "/audit/consent?id=a%00b",
    "/audit?consent_id=%00",
    "/audit/export.jsonl?consent_id=%00",
    "/audit/export.csv?consent_id=x%01",
    "/audit?consent_id=%ff",
    "/audit/consent?id=%ed%a0%80",
]


@pytest.mark.parametrize("query", QUERIES)
async def test_control_characters_in_auditor_filters_are_the_visitors_error(
    tmp_path, pg_url, query
):
    target = Target.build(tmp_path, app, store=pg_url)
    try:
        assert (await target.post(PREFIX + "/consent", b"action=accept_all")).status_code == 303
        response = await target.request("GET", PREFIX + query, headers=[AUTH])
        check_answer(response)
        if "%00" in query or "%01" in query:
            assert response.status_code == 400
            assert "control character" in response.text
    finally:
        await target.close()
