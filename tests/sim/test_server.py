"""The simulator's server: lifecycle, recording, keep-alive and concurrency."""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading

import anthropic
import anyio
import openai
import pytest

from riprap.sim import Reply, Scenario, Simulator

MESSAGES: list[anthropic.types.MessageParam] = [{"role": "user", "content": "Hello, sim."}]


def test_refuses_non_loopback_host() -> None:
    """Only loopback may be bound: a fault injector must not face a network."""
    with pytest.raises(ValueError, match="loopback"):
        Simulator(host="0.0.0.0")  # noqa: S104 -- the point is that it is refused


@pytest.mark.parametrize("port", [-1, 65536, 1.5])
def test_refuses_bad_port(port: object) -> None:
    """An out-of-range port raises ValueError naming it."""
    with pytest.raises(ValueError, match="port"):
        Simulator(port=port)  # type: ignore[arg-type]


def test_fixed_port() -> None:
    """Simulator(port=N) listens on N."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with Simulator(port=port) as sim:
        assert sim.base_url == f"http://127.0.0.1:{port}"


def test_lifecycle_errors() -> None:
    """base_url needs a start, start cannot run twice, and close is idempotent."""
    sim = Simulator()
    with pytest.raises(RuntimeError):
        _ = sim.base_url
    sim.start()
    try:
        with pytest.raises(RuntimeError):
            sim.start()
    finally:
        sim.close()
    sim.close()
    assert not sim.running


def test_closed_simulator_refuses_connections() -> None:
    """After close() the address refuses connections: a connection error, not a hang."""
    with Simulator() as sim:
        url = sim.base_url
    with (
        anthropic.Anthropic(api_key="k", base_url=url, max_retries=0) as client,
        pytest.raises(anthropic.APIConnectionError),
    ):
        client.messages.create(model="m", max_tokens=8, messages=MESSAGES)


def test_records_requests() -> None:
    """Every request is recorded with method, path, headers, parsed body and provider."""
    fake_time = itertools.count(100.0)
    with (
        Simulator(clock=lambda: next(fake_time)) as sim,
        anthropic.Anthropic(api_key="sk-ant-test", base_url=sim.base_url, max_retries=0) as a,
        openai.OpenAI(api_key="sk-test", base_url=sim.base_url + "/v1", max_retries=0) as o,
    ):
        a.messages.create(model="claude-test", max_tokens=8, messages=MESSAGES)
        o.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "x"}])
        first, second = sim.requests
    assert (first.method, first.path, first.provider) == ("POST", "/v1/messages", "anthropic")
    # anthropic 2.x sends the key as a bearer token, not x-api-key
    assert first.headers["authorization"] == "Bearer sk-ant-test"
    assert "anthropic-version" in first.headers
    assert first.body == {"model": "claude-test", "max_tokens": 8, "messages": MESSAGES}
    assert isinstance(first.body, dict)
    assert first.raw_body.startswith(b"{")
    assert (second.path, second.provider) == ("/v1/chat/completions", "openai")
    assert second.headers["authorization"] == "Bearer sk-test"
    assert [(r.index, r.time, r.request_id) for r in (first, second)] == [
        (0, 100.0, "req_sim_000000"),
        (1, 101.0, "req_sim_000001"),
    ]
    assert first.reply == second.reply == Reply()


def test_reset_clears_queue_and_records(sim: Simulator, claude: anthropic.Anthropic) -> None:
    """reset() forgets the script and the records, and numbering restarts at 0."""
    claude.messages.create(model="m", max_tokens=8, messages=MESSAGES)
    sim.script(Reply(status=500))
    sim.reset()
    assert sim.pending == 0
    assert sim.requests == ()
    message = claude.messages.create(model="m", max_tokens=8, messages=MESSAGES)
    assert message.id == "msg_sim_000000"


def test_unknown_path_is_404_and_keeps_script(sim: Simulator, claude: anthropic.Anthropic) -> None:
    """An unknown endpoint gets the provider's 404 without consuming a scripted reply."""
    sim.script(Reply(status=529))
    with pytest.raises(anthropic.NotFoundError) as caught:
        claude.post("/v1/nowhere", cast_to=object, body={})
    assert caught.value.type == "not_found_error"
    assert sim.pending == 1
    assert sim.requests[0].reply.status == 404


def test_script_rejects_non_replies(sim: Simulator) -> None:
    """script() takes Reply objects only."""
    with pytest.raises(TypeError):
        sim.script(529)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sim.scenario = {"fault_rate": 1}  # type: ignore[assignment]


def test_keep_alive_reuses_one_connection() -> None:
    """Sequential calls from one client share one pooled connection, errors included."""
    with (
        Simulator() as sim,
        anthropic.Anthropic(api_key="k", base_url=sim.base_url, max_retries=0) as client,
    ):
        sim.script(Reply(status=500), Reply(status=429))
        for _ in range(5):
            with contextlib.suppress(anthropic.APIStatusError):
                client.messages.create(model="m", max_tokens=8, messages=MESSAGES)
        assert len(sim.requests) == 5
        assert sim.open_connections == 1


def test_close_releases_hung_request() -> None:
    """Closing the simulator frees a hung request: the client sees a connection error."""
    sim = Simulator()
    sim.start()
    sim.script(Reply(hang=True))
    errors: list[BaseException] = []

    def call() -> None:
        with anthropic.Anthropic(api_key="k", base_url=sim.base_url, max_retries=0) as client:
            try:
                client.messages.create(model="m", max_tokens=8, messages=MESSAGES, timeout=10)
            except anthropic.APIConnectionError as err:
                errors.append(err)

    worker = threading.Thread(target=call)
    worker.start()
    while not sim.requests:
        worker.join(0.01)
    sim.close()
    worker.join(2.0)
    assert not worker.is_alive()
    assert len(errors) == 1
    assert not isinstance(errors[0], anthropic.APITimeoutError)


@pytest.mark.anyio
async def test_concurrent_async_calls() -> None:
    """300 concurrent async calls across both providers are all served."""
    results: list[str] = []
    scenario = Scenario(latency=(0.0, 0.002))
    async with (
        Simulator(scenario=scenario) as sim,
        anthropic.AsyncAnthropic(api_key="k", base_url=sim.base_url, max_retries=0) as a,
        openai.AsyncOpenAI(api_key="k", base_url=sim.base_url + "/v1", max_retries=0) as o,
    ):

        async def claude_call() -> None:
            message = await a.messages.create(model="m", max_tokens=8, messages=MESSAGES)
            results.append(message.type)

        async def gpt_call() -> None:
            completion = await o.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "x"}]
            )
            results.append(completion.object)

        async with anyio.create_task_group() as group:
            for i in range(300):
                group.start_soon(claude_call if i % 2 else gpt_call)
        assert len(sim.requests) == 300
        assert sorted({r.index for r in sim.requests}) == list(range(300))
    assert results.count("message") == results.count("chat.completion") == 150


@pytest.mark.anyio
async def test_async_errors_and_hang() -> None:
    """The async clients see the same error classes and timeouts as the sync ones."""
    async with (
        Simulator() as sim,
        openai.AsyncOpenAI(api_key="k", base_url=sim.base_url + "/v1", max_retries=0) as o,
    ):
        sim.script(Reply(status=529), Reply(hang=True))
        with pytest.raises(openai.InternalServerError) as caught:
            await o.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        assert caught.value.status_code == 529
        with pytest.raises(openai.APITimeoutError):
            await o.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "x"}], timeout=0.3
            )


def _raw_exchange(sim: Simulator, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", sim.port), timeout=2.0) as conn:
        conn.sendall(payload)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_malformed_http_gets_400_and_close(sim: Simulator) -> None:
    """Bytes that are not HTTP get a 400 and a closed connection, and are not recorded."""
    response = _raw_exchange(sim, b"GARBAGE\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 400 ")
    assert sim.requests == ()


def test_invalid_json_body_is_400_and_keeps_script(sim: Simulator) -> None:
    """A request body that is not JSON gets the provider's 400 without consuming the script."""
    sim.script(Reply(status=529))
    request = (
        b"POST /v1/messages HTTP/1.1\r\nhost: x\r\nanthropic-version: 1\r\n"
        b"connection: close\r\ncontent-length: 5\r\n\r\n{bad}"
    )
    response = _raw_exchange(sim, request)
    assert response.startswith(b"HTTP/1.1 400 ")
    assert b'"invalid_request_error"' in response
    assert sim.pending == 1
    assert sim.requests[0].body is None
    assert sim.requests[0].raw_body == b"{bad}"
