"""The outbound sink: batches from the durable outbox, retries, dead letters."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from gatekeeper.audit import ConsentLog
from gatekeeper.audit.sink import Retry, Sink
from gatekeeper.policy import load_policy
from tests.audit.conftest import event

URL = "https://collector.example/consent"
SINK = f'  sink: {{url: "{URL}", token: "s3cret", batch_size: 3}}\n'


@pytest.fixture
async def sink_log(audit_policy):
    log = ConsentLog.from_policy(load_policy(audit_policy(extra=SINK)))
    yield log
    await log.close()


def quick(log: ConsentLog) -> Sink:
    """The policy's sink with test-sized delays, and not started in the background."""
    assert log.sink is not None
    return Sink(log.store, URL, token="s3cret", batch_size=3, base_delay=0.001, max_delay=0.01)


async def append(log: ConsentLog, count: int) -> list[str]:
    sink, log.sink = log.sink, None  # append without waking the background sender
    try:
        return [await log.append(event(i)) for i in range(count)]
    finally:
        log.sink = sink


async def test_batches_are_sent_with_the_token_and_removed(sink_log, httpx_mock):
    ids = await append(sink_log, 5)
    assert await sink_log.store.outbox_size() == 5
    httpx_mock.add_response(url=URL, method="POST", status_code=200)
    httpx_mock.add_response(url=URL, method="POST", status_code=202)
    await quick(sink_log).drain()
    requests = httpx_mock.get_requests()
    assert [len(json.loads(r.content)["records"]) for r in requests] == [3, 2]
    assert requests[0].headers["authorization"] == "Bearer s3cret"
    assert requests[0].headers["content-type"] == "application/json"
    sent = [rec for r in requests for rec in json.loads(r.content)["records"]]
    assert [rec["event_id"] for rec in sent] == ids
    assert sent[0]["leaf"] and sent[0]["ip"] == "203.0.113.0/24"
    assert json.loads(requests[0].content)["log_id"] == (await sink_log.head()).log_id
    assert await sink_log.store.outbox_size() == 0


async def test_server_errors_are_retried_until_accepted(sink_log, httpx_mock):
    await append(sink_log, 2)
    httpx_mock.add_response(url=URL, status_code=503)
    httpx_mock.add_response(url=URL, status_code=500)
    httpx_mock.add_response(url=URL, status_code=200)
    await quick(sink_log).drain()
    assert len(httpx_mock.get_requests()) == 3
    assert await sink_log.store.outbox_size() == 0
    assert await sink_log.store.dead_letters() == []


async def test_timeouts_are_retried(sink_log, httpx_mock):
    await append(sink_log, 1)
    httpx_mock.add_exception(httpx.ReadTimeout("collector too slow"))
    httpx_mock.add_exception(httpx.ConnectError("collector down"))
    httpx_mock.add_response(url=URL, status_code=200)
    await quick(sink_log).drain()
    assert len(httpx_mock.get_requests()) == 3
    assert await sink_log.store.outbox_size() == 0


async def test_nothing_is_lost_while_the_collector_stays_down(sink_log, httpx_mock):
    await append(sink_log, 2)
    httpx_mock.add_response(url=URL, status_code=502, is_reusable=True)
    with pytest.raises(Retry):
        await quick(sink_log).drain(max_attempts=3)
    assert await sink_log.store.outbox_size() == 2  # released, waiting for the next try


async def test_a_refused_batch_goes_to_dead_letters(sink_log, httpx_mock):
    await append(sink_log, 4)
    httpx_mock.add_response(url=URL, status_code=422, text="bad record format")
    httpx_mock.add_response(url=URL, status_code=200)
    await quick(sink_log).drain()
    assert len(httpx_mock.get_requests()) == 2  # the 4xx batch is not retried
    dead = await sink_log.store.dead_letters()
    assert len(dead) == 1
    assert dead[0].seqs == (0, 1, 2) and dead[0].status == 422
    assert "bad record format" in dead[0].reason
    assert await sink_log.store.outbox_size() == 0
    assert (await sink_log.verify()).ok  # the log itself is untouched


async def test_appends_wake_the_background_sender(sink_log, httpx_mock):
    httpx_mock.add_response(url=URL, status_code=200, is_reusable=True)
    for i in range(4):
        await sink_log.append(event(i))
    for _ in range(200):
        if await sink_log.store.outbox_size() == 0:
            break
        await asyncio.sleep(0.01)
    assert await sink_log.store.outbox_size() == 0
    sent = [rec for r in httpx_mock.get_requests() for rec in json.loads(r.content)["records"]]
    assert sorted(rec["seq"] for rec in sent) == [0, 1, 2, 3]


async def test_no_outbox_without_a_sink(log):
    await log.append(event(1))
    assert await log.store.outbox_size() == 0


async def test_postgres_outbox(audit_policy, pg_url, httpx_mock):
    log = ConsentLog.from_policy(load_policy(audit_policy(store=pg_url, extra=SINK)))
    try:
        await append(log, 4)
        httpx_mock.add_response(url=URL, status_code=500)
        httpx_mock.add_response(url=URL, status_code=400)
        httpx_mock.add_response(url=URL, status_code=200)
        await quick(log).drain()
        assert await log.store.outbox_size() == 0
        assert [d.seqs for d in await log.store.dead_letters()] == [(0, 1, 2)]
        assert json.loads(httpx_mock.get_requests()[-1].content)["records"][0]["seq"] == 3
    finally:
        await log.close()
