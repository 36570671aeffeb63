"""The fake LLM server, driven by the real openai and anthropic SDKs."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import anthropic
import httpx2
import openai
import pytest
from pydantic import BaseModel

from agentops_otel.testing import FakeLLMServer

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer"},
                "metric": {"type": "boolean"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "tags": {"type": "array", "items": {"type": "string"}},
                "extra": {"type": "object"},
            },
            "required": ["city"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
}
WEATHER_ARGS = {
    "city": "test",
    "days": 1,
    "metric": True,
    "unit": "celsius",
    "tags": [],
    "extra": {},
}
LONG_PROMPT = "Summarise the following text please. " * 10


def _tokens(chars: int) -> int:
    return max(1, chars // 4)


@pytest.fixture(scope="module")
def _running() -> FakeLLMServer:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def server(_running: FakeLLMServer) -> FakeLLMServer:
    _running.clear()
    _running.clear_rules()
    return _running


@pytest.fixture
def oai(server: FakeLLMServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0)


@pytest.fixture
def ant(server: FakeLLMServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=server.anthropic_base_url, api_key="sk-test", max_retries=0, open_telemetry=False
    )


def _only_request(server: FakeLLMServer) -> dict:
    (entry,) = server.requests
    return entry


# --- server basics -----------------------------------------------------------------------------


def test_addresses_and_loopback_binding() -> None:
    with FakeLLMServer() as server:
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.openai_base_url == server.url + "/v1"
        assert server.anthropic_base_url == server.url
        assert server._httpd.server_address[0] == "127.0.0.1"
        with urllib.request.urlopen(server.openai_base_url + "/models") as resp:
            assert json.load(resp)["object"] == "list"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def test_request_log_can_be_switched_off() -> None:
    with FakeLLMServer(log_requests=False) as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0)
        reply = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}]
        )
        assert reply.usage.prompt_tokens > 0
        assert server.requests == []
        assert server.total_usage()["input_tokens"] == 0


def test_stop_closes_pooled_connections() -> None:
    server = FakeLLMServer().start()
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0)
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    server.stop()
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])


def test_unknown_endpoint_is_a_logged_404(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        oai.post("/nope", body={"model": "m"}, cast_to=httpx2.Response)
    assert _only_request(server)["status"] == 404


def test_no_request_logs_on_stderr(server: FakeLLMServer, oai: openai.OpenAI, capfd) -> None:
    oai.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.InternalServerError):
        oai.chat.completions.create(model="error-500", messages=[{"role": "user", "content": "x"}])
    assert capfd.readouterr().err == ""


def test_concurrent_requests_are_all_logged(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    def call(i: int) -> None:
        oai.chat.completions.create(model=f"m{i}", messages=[{"role": "user", "content": "x"}])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r["model"] for r in server.requests) == sorted(f"m{i}" for i in range(16))
    assert server.total_usage()["output_tokens"] > 0


def test_command_line_serves_until_interrupted() -> None:
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentops_otel.testing.fake_llm", "--port", "0"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        assert lines[1].startswith("OPENAI_BASE_URL=http://127.0.0.1:")
        base = lines[1].strip().split("=", 1)[1]
        assert lines[2].strip() == "ANTHROPIC_BASE_URL=" + base.removesuffix("/v1")
        client = openai.OpenAI(base_url=base, api_key="sk-test", max_retries=0)
        reply = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "cli"}]
        )
        assert reply.choices[0].message.content == "Fake reply from m: cli"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert err == ""


# --- OpenAI chat completions -------------------------------------------------------------------


def test_chat_plain_reply_usage_and_log(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": LONG_PROMPT},
    ]
    raw = oai.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=messages)
    reply = raw.parse()
    text = f"Fake reply from gpt-4o-mini: {LONG_PROMPT[:60]}"
    assert reply.choices[0].message.content == text
    assert reply.choices[0].finish_reason == "stop"
    assert raw.headers["content-type"] == "application/json"
    expected_in = _tokens(len("Be brief.") + len(LONG_PROMPT))
    assert reply.usage.prompt_tokens == expected_in
    assert reply.usage.completion_tokens == _tokens(len(text))
    assert reply.usage.total_tokens == expected_in + _tokens(len(text))
    assert reply.usage.prompt_tokens_details.cached_tokens == expected_in // 4 > 0
    assert reply.usage.completion_tokens_details.reasoning_tokens == 0

    entry = _only_request(server)
    assert entry["path"] == "/v1/chat/completions"
    assert entry["method"] == "POST"
    assert entry["model"] == "gpt-4o-mini"
    assert entry["stream"] is False
    assert entry["status"] == 200
    assert entry["body"]["messages"] == messages
    assert entry["headers"]["authorization"] == "Bearer sk-test"
    assert entry["request_id"] == reply._request_id
    assert entry["response_id"] == reply.id
    assert entry["usage"] == {
        "input_tokens": expected_in,
        "output_tokens": _tokens(len(text)),
        "cache_read_tokens": expected_in // 4,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
    }


def test_chat_n_choices(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    reply = oai.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "pick"}], n=3
    )
    assert [c.index for c in reply.choices] == [0, 1, 2]
    per_choice = _tokens(len(reply.choices[0].message.content))
    assert reply.usage.completion_tokens == 3 * per_choice
    assert server.requests[0]["usage"]["output_tokens"] == 3 * per_choice


@pytest.mark.parametrize("model", ["o1-mini", "o3", "o4-mini", "gpt-5-nano"])
def test_reasoning_models_report_reasoning_tokens(oai: openai.OpenAI, model: str) -> None:
    reply = oai.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}])
    out = reply.usage.completion_tokens
    assert reply.usage.completion_tokens_details.reasoning_tokens == out // 2 > 0


def test_chat_stream_without_usage(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    stream = oai.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "stream me"}], stream=True
    )
    chunks = list(stream)
    assert all(c.usage is None and len(c.choices) == 1 for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == "Fake reply from m: stream me"
    assert len(chunks) > 4
    entry = _only_request(server)
    assert entry["stream"] is True
    assert entry["usage"] is None


def test_chat_stream_include_usage(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    stream = oai.chat.completions.create(
        model="o3-mini",
        messages=[{"role": "user", "content": LONG_PROMPT}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[-1].choices == []
    usage = chunks[-1].usage
    assert all(c.usage is None for c in chunks[:-1])
    assert server.requests[0]["usage"] == {
        "input_tokens": usage.prompt_tokens,
        "output_tokens": usage.completion_tokens,
        "cache_read_tokens": usage.prompt_tokens_details.cached_tokens,
        "cache_write_tokens": 0,
        "reasoning_tokens": usage.completion_tokens_details.reasoning_tokens,
    }
    assert usage.prompt_tokens_details.cached_tokens > 0
    assert usage.completion_tokens_details.reasoning_tokens > 0


def test_chat_tool_loop(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    first = oai.chat.completions.create(model="m", messages=messages, tools=[WEATHER_TOOL])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == WEATHER_ARGS
    tools_json = json.dumps([WEATHER_TOOL], separators=(",", ":"))
    assert first.usage.prompt_tokens == _tokens(len(messages[0]["content"]) + len(tools_json))
    assert first.usage.completion_tokens == _tokens(len(call.function.arguments))

    messages += [
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21C"},
    ]
    second = oai.chat.completions.create(model="m", messages=messages, tools=[WEATHER_TOOL])
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == "The tool returned: sunny, 21C"

    messages.append({"role": "user", "content": "And tomorrow?"})
    third = oai.chat.completions.create(model="m", messages=messages, tools=[WEATHER_TOOL])
    assert third.choices[0].finish_reason == "tool_calls"
    assert len(server.requests) == 3


def test_chat_tool_choice_picks_named_tool_or_none(oai: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "time?"}]
    tools = [WEATHER_TOOL, TIME_TOOL]
    named = oai.chat.completions.create(
        model="m",
        messages=messages,
        tools=tools,
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    assert named.choices[0].message.tool_calls[0].function.name == "get_time"
    assert named.choices[0].message.tool_calls[0].function.arguments == "{}"
    none = oai.chat.completions.create(
        model="m", messages=messages, tools=tools, tool_choice="none"
    )
    assert none.choices[0].message.tool_calls is None
    assert none.choices[0].message.content == "Fake reply from m: time?"


def test_chat_stream_tool_call_deltas(oai: openai.OpenAI) -> None:
    stream = oai.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "weather"}],
        tools=[WEATHER_TOOL],
        stream=True,
    )
    deltas = [c.choices[0].delta.tool_calls[0] for c in stream if c.choices[0].delta.tool_calls]
    assert deltas[0].id and deltas[0].function.name == "get_weather"
    assert all(d.id is None and d.function.name is None for d in deltas[1:])
    assert len(deltas) >= 3
    arguments = "".join(d.function.arguments or "" for d in deltas)
    assert json.loads(arguments) == WEATHER_ARGS


def test_chat_stream_helper_accumulates_tool_call(oai: openai.OpenAI) -> None:
    with oai.chat.completions.stream(
        model="m", messages=[{"role": "user", "content": "weather"}], tools=[WEATHER_TOOL]
    ) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].finish_reason == "tool_calls"
    assert json.loads(final.choices[0].message.tool_calls[0].function.arguments) == WEATHER_ARGS


class Address(BaseModel):
    street: str
    zip_code: int


class Person(BaseModel):
    name: str
    age: int
    height: float
    active: bool
    nicknames: list[str]
    address: Address
    manager: Address | None


def test_chat_parse_pydantic(oai: openai.OpenAI) -> None:
    reply = oai.chat.completions.parse(
        model="gpt-4o", messages=[{"role": "user", "content": "who?"}], response_format=Person
    )
    parsed = reply.choices[0].message.parsed
    assert parsed == Person(
        name="test",
        age=1,
        height=1,
        active=True,
        nicknames=[],
        address=Address(street="test", zip_code=1),
        manager=Address(street="test", zip_code=1),
    )


def test_chat_json_object_and_json_rule(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    reply = oai.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "as json"}],
        response_format={"type": "json_object"},
    )
    assert json.loads(reply.choices[0].message.content) == {"reply": "Fake reply from m: as json"}
    server.add_rule("classify", '{"label": "spam"}')
    reply = oai.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "classify this"}],
        response_format={"type": "json_object"},
    )
    assert json.loads(reply.choices[0].message.content) == {"label": "spam"}


def test_rules_match_last_user_message(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    server.add_rule("WIN A PRIZE", "spam")
    server.add_rule("meeting", "ham")

    def ask(text: str) -> str:
        messages = [{"role": "user", "content": "meeting"}, {"role": "user", "content": text}]
        reply = oai.chat.completions.create(model="m", messages=messages)
        return reply.choices[0].message.content

    assert ask("Subject: WIN A PRIZE now") == "spam"
    assert ask("Subject: meeting at 3") == "ham"
    assert ask("hello") == "Fake reply from m: hello"
    server.clear_rules()
    assert ask("WIN A PRIZE") == "Fake reply from m: WIN A PRIZE"


def test_async_chat_and_stream(server: FakeLLMServer) -> None:
    async def run() -> tuple[str, str]:
        client = openai.AsyncOpenAI(
            base_url=server.openai_base_url, api_key="sk-test", max_retries=0
        )
        async with client:
            reply = await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "async"}]
            )
            stream = await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "astream"}], stream=True
            )
            text = "".join([c.choices[0].delta.content or "" async for c in stream])
            return reply.choices[0].message.content, text

    assert asyncio.run(run()) == ("Fake reply from m: async", "Fake reply from m: astream")
    assert [r["stream"] for r in server.requests] == [False, True]


# --- OpenAI embeddings -------------------------------------------------------------------------


def test_embeddings_float_and_base64(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    floats = oai.embeddings.create(model="e", input=["alpha", "beta"], encoding_format="float")
    assert [d.index for d in floats.data] == [0, 1]
    assert all(len(d.embedding) == 8 for d in floats.data)
    assert floats.data[0].embedding != floats.data[1].embedding
    assert floats.usage.prompt_tokens == floats.usage.total_tokens == _tokens(len("alphabeta"))

    b64 = oai.embeddings.create(model="e", input=["alpha", "beta"], encoding_format="base64")
    raw = base64.b64decode(b64.data[0].embedding)
    assert list(struct.unpack("<8f", raw)) == floats.data[0].embedding

    # The SDK asks for base64 by default and decodes it itself.
    default = oai.embeddings.create(model="e", input="alpha")
    assert default.data[0].embedding == floats.data[0].embedding
    assert server.requests[2]["body"]["encoding_format"] == "base64"
    assert server.requests[0]["usage"] == {
        "input_tokens": floats.usage.prompt_tokens,
        "output_tokens": 0,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
    }


def test_embeddings_dimensions(oai: openai.OpenAI) -> None:
    short = oai.embeddings.create(model="e", input="alpha", dimensions=3, encoding_format="float")
    long = oai.embeddings.create(model="e", input="alpha", dimensions=50)
    assert len(short.data[0].embedding) == 3
    assert len(long.data[0].embedding) == 50
    assert long.data[0].embedding[:3] == short.data[0].embedding


# --- OpenAI responses --------------------------------------------------------------------------

RESPONSE_TOOL = {
    "type": "function",
    "name": "lookup",
    "description": "Look something up",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
}


def test_responses_create(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    response = oai.responses.create(model="gpt-5-mini", input=LONG_PROMPT, instructions="Be nice")
    assert response.output_text == f"Fake reply from gpt-5-mini: {LONG_PROMPT[:60]}"
    assert response.status == "completed"
    usage = response.usage
    assert usage.input_tokens == _tokens(len(LONG_PROMPT) + len("Be nice"))
    assert usage.input_tokens_details.cached_tokens == usage.input_tokens // 4 > 0
    assert usage.output_tokens_details.reasoning_tokens == usage.output_tokens // 2 > 0
    entry = _only_request(server)
    assert entry["response_id"] == response.id
    assert entry["usage"]["reasoning_tokens"] == usage.output_tokens_details.reasoning_tokens


def test_responses_stream_events(server: FakeLLMServer, oai: openai.OpenAI) -> None:
    stream = oai.responses.create(model="m", input="stream it", stream=True)
    events = list(stream)
    kinds = [e.type for e in events]
    for kind in (
        "response.created",
        "response.output_item.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.output_item.done",
        "response.completed",
    ):
        assert kind in kinds
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "Fake reply from m: stream it"
    assert events[-1].response.usage.output_tokens == server.requests[0]["usage"]["output_tokens"]


def test_responses_stream_helper_and_function_call_loop(oai: openai.OpenAI) -> None:
    with oai.responses.stream(model="m", input="look it up", tools=[RESPONSE_TOOL]) as stream:
        first = stream.get_final_response()
    (call,) = first.output
    assert call.type == "function_call"
    assert call.name == "lookup"
    assert json.loads(call.arguments) == {"query": "test"}

    follow_up = [
        {"role": "user", "content": "look it up"},
        call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": "found 42"},
    ]
    with oai.responses.stream(model="m", input=follow_up, tools=[RESPONSE_TOOL]) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        second = stream.get_final_response()
    assert second.output_text == "The tool returned: found 42" == "".join(deltas)
    assert second.usage.input_tokens > first.usage.input_tokens


def test_responses_parse(oai: openai.OpenAI) -> None:
    response = oai.responses.parse(model="m", input="who?", text_format=Address)
    assert response.output_parsed == Address(street="test", zip_code=1)


# --- Anthropic messages ------------------------------------------------------------------------

ANTHROPIC_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def test_anthropic_create_usage_excludes_cache(
    server: FakeLLMServer, ant: anthropic.Anthropic
) -> None:
    message = ant.messages.create(
        model="claude-sonnet-4",
        max_tokens=100,
        system="Be brief.",
        messages=[{"role": "user", "content": LONG_PROMPT}],
    )
    text = f"Fake reply from claude-sonnet-4: {LONG_PROMPT[:60]}"
    assert message.content[0].text == text
    assert message.stop_reason == "end_turn"
    total = _tokens(len("Be brief.") + len(LONG_PROMPT))
    usage = message.usage
    assert usage.cache_read_input_tokens == total // 4 > 0
    assert usage.cache_creation_input_tokens == total // 8 > 0
    assert usage.input_tokens == total - total // 4 - total // 8
    assert usage.output_tokens == _tokens(len(text))
    entry = _only_request(server)
    assert entry["path"] == "/v1/messages"
    assert entry["headers"]["authorization"] == "Bearer sk-test"
    assert entry["headers"]["anthropic-version"]
    assert entry["response_id"] == message.id
    assert entry["request_id"] == message._request_id
    assert entry["usage"] == {
        "input_tokens": total,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": total // 4,
        "cache_write_tokens": total // 8,
        "reasoning_tokens": 0,
    }


def test_anthropic_stream_final_message(server: FakeLLMServer, ant: anthropic.Anthropic) -> None:
    with ant.messages.stream(
        model="claude", max_tokens=100, messages=[{"role": "user", "content": "stream"}]
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(pieces) == final.content[0].text == "Fake reply from claude: stream"
    assert len(pieces) > 2
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == server.requests[0]["usage"]["output_tokens"]


def test_anthropic_raw_stream_event_sequence(ant: anthropic.Anthropic) -> None:
    events = list(
        ant.messages.create(
            model="claude",
            max_tokens=100,
            messages=[{"role": "user", "content": "go"}],
            tools=[ANTHROPIC_TOOL],
            stream=True,
        )
    )
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert kinds[-2] == "message_delta" and kinds.count("content_block_delta") >= 2
    assert events[0].message.usage.input_tokens > 0
    start = next(e for e in events if e.type == "content_block_start")
    assert start.content_block.type == "tool_use" and start.content_block.name == "get_weather"
    partial = "".join(e.delta.partial_json for e in events if e.type == "content_block_delta")
    assert json.loads(partial) == {"city": "test"}
    assert events[-2].delta.stop_reason == "tool_use"
    assert events[-2].usage.output_tokens == _tokens(len(partial))


def test_anthropic_tool_loop(ant: anthropic.Anthropic) -> None:
    messages = [{"role": "user", "content": "weather?"}]
    first = ant.messages.create(model="c", max_tokens=50, messages=messages, tools=[ANTHROPIC_TOOL])
    assert first.stop_reason == "tool_use"
    (block,) = first.content
    assert block.type == "tool_use" and block.input == {"city": "test"}
    messages += [
        {"role": "assistant", "content": [block.model_dump(exclude_none=True)]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": block.id, "content": "rainy"},
                {"type": "text", "text": "please continue"},
            ],
        },
    ]
    second = ant.messages.create(
        model="c", max_tokens=50, messages=messages, tools=[ANTHROPIC_TOOL]
    )
    assert second.stop_reason == "end_turn"
    assert second.content[0].text == "The tool returned: rainy"


def test_anthropic_tool_choice(ant: anthropic.Anthropic) -> None:
    other = {"name": "get_time", "input_schema": {"type": "object", "properties": {}}}
    messages = [{"role": "user", "content": "time?"}]
    named = ant.messages.create(
        model="c",
        max_tokens=50,
        messages=messages,
        tools=[ANTHROPIC_TOOL, other],
        tool_choice={"type": "tool", "name": "get_time"},
    )
    assert named.content[0].name == "get_time"
    none = ant.messages.create(
        model="c",
        max_tokens=50,
        messages=messages,
        tools=[ANTHROPIC_TOOL],
        tool_choice={"type": "none"},
    )
    assert none.content[0].type == "text"


def test_anthropic_async_twins(server: FakeLLMServer) -> None:
    async def run() -> tuple[str, str]:
        client = anthropic.AsyncAnthropic(
            base_url=server.anthropic_base_url,
            api_key="sk-test",
            max_retries=0,
            open_telemetry=False,
        )
        async with client:
            message = await client.messages.create(
                model="c", max_tokens=10, messages=[{"role": "user", "content": "a"}]
            )
            async with client.messages.stream(
                model="c", max_tokens=10, messages=[{"role": "user", "content": "b"}]
            ) as stream:
                final = await stream.get_final_message()
            return message.content[0].text, final.content[0].text

    assert asyncio.run(run()) == ("Fake reply from c: a", "Fake reply from c: b")
    assert [r["stream"] for r in server.requests] == [False, True]


def test_anthropic_count_tokens(ant: anthropic.Anthropic) -> None:
    counted = ant.messages.count_tokens(
        model="c", messages=[{"role": "user", "content": LONG_PROMPT}]
    )
    assert counted.input_tokens == _tokens(len(LONG_PROMPT))


# --- faults ------------------------------------------------------------------------------------

OPENAI_ERRORS = {
    400: openai.BadRequestError,
    401: openai.AuthenticationError,
    404: openai.NotFoundError,
    429: openai.RateLimitError,
    500: openai.InternalServerError,
    503: openai.InternalServerError,
}
ANTHROPIC_ERRORS = {
    400: (anthropic.BadRequestError, "invalid_request_error"),
    401: (anthropic.AuthenticationError, "authentication_error"),
    404: (anthropic.NotFoundError, "not_found_error"),
    429: (anthropic.RateLimitError, "rate_limit_error"),
    500: (anthropic.InternalServerError, "api_error"),
    503: (anthropic.InternalServerError, "overloaded_error"),
}


@pytest.mark.parametrize("status", sorted(OPENAI_ERRORS))
@pytest.mark.parametrize("stream", [False, True])
def test_openai_errors(
    server: FakeLLMServer, oai: openai.OpenAI, status: int, stream: bool
) -> None:
    with pytest.raises(OPENAI_ERRORS[status]) as caught:
        oai.chat.completions.create(
            model=f"error-{status}", messages=[{"role": "user", "content": "x"}], stream=stream
        )
    assert caught.value.status_code == status
    assert set(caught.value.body) == {"message", "type", "param", "code"}
    assert caught.value.request_id
    entry = _only_request(server)
    assert (entry["status"], entry["usage"], entry["stream"]) == (status, None, stream)


@pytest.mark.parametrize("status", sorted(ANTHROPIC_ERRORS))
def test_anthropic_errors(server: FakeLLMServer, ant: anthropic.Anthropic, status: int) -> None:
    error_class, error_type = ANTHROPIC_ERRORS[status]
    with pytest.raises(error_class) as caught:
        ant.messages.create(
            model=f"error-{status}", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    assert caught.value.status_code == status
    assert caught.value.body["type"] == "error"
    assert caught.value.body["error"]["type"] == error_type
    assert _only_request(server)["status"] == status


def test_errors_on_embeddings_and_responses(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError):
        oai.embeddings.create(model="error-429", input="x")
    with pytest.raises(openai.BadRequestError):
        oai.responses.create(model="error-400", input="x")


def test_default_retries_reach_the_server_again(server: FakeLLMServer) -> None:
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="sk-test")  # max_retries=2
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(
            model="error-503", messages=[{"role": "user", "content": "x"}]
        )
    assert [r["status"] for r in server.requests] == [503, 503, 503]


def test_no_usage_everywhere(
    server: FakeLLMServer, oai: openai.OpenAI, ant: anthropic.Anthropic
) -> None:
    user = [{"role": "user", "content": "x"}]
    chat = oai.chat.completions.create(model="no-usage", messages=user)
    assert chat.usage is None and chat.choices[0].message.content
    chunks = list(
        oai.chat.completions.create(
            model="no-usage", messages=user, stream=True, stream_options={"include_usage": True}
        )
    )
    assert all(c.usage is None for c in chunks) and chunks[-1].choices[0].finish_reason == "stop"
    assert oai.responses.create(model="no-usage", input="x").usage is None
    assert oai.embeddings.create(model="no-usage", input="x").usage is None
    message = ant.messages.create(model="no-usage", max_tokens=5, messages=user)
    assert message.content[0].text and "usage" not in message.model_dump(exclude_unset=True)
    raw_events = list(
        ant.messages.create(model="no-usage", max_tokens=5, messages=user, stream=True)
    )
    assert raw_events[-1].type == "message_stop"
    assert raw_events[0].message.usage is None and raw_events[-2].usage is None
    # anthropic's stream helper cannot accumulate a stream without usage: the SDK itself fails.
    with pytest.raises(AttributeError):
        with ant.messages.stream(model="no-usage", max_tokens=5, messages=user) as stream:
            stream.get_final_message()
    assert all(r["usage"] is None and r["status"] == 200 for r in server.requests)


def test_malformed_sse(server: FakeLLMServer, oai: openai.OpenAI, ant: anthropic.Anthropic) -> None:
    user = [{"role": "user", "content": "x"}]
    received = []
    with pytest.raises(json.JSONDecodeError):
        for chunk in oai.chat.completions.create(model="malformed-sse", messages=user, stream=True):
            received.append(chunk)
    assert len(received) == 1
    with pytest.raises(json.JSONDecodeError):
        list(ant.messages.create(model="malformed-sse", max_tokens=5, messages=user, stream=True))
    with pytest.raises(json.JSONDecodeError):
        list(oai.responses.create(model="malformed-sse", input="x", stream=True))
    # Outside streams the trigger is inert.
    assert oai.chat.completions.create(model="malformed-sse", messages=user).choices
    assert [r["usage"] is None for r in server.requests] == [True, True, True, False]


def test_reset_mid_stream(
    server: FakeLLMServer, oai: openai.OpenAI, ant: anthropic.Anthropic
) -> None:
    user = [{"role": "user", "content": "x"}]
    received = []
    with pytest.raises(openai.APIConnectionError) as caught:
        for chunk in oai.chat.completions.create(
            model="reset-mid-stream", messages=user, stream=True
        ):
            received.append(chunk)
    assert isinstance(caught.value.__cause__, httpx2.RemoteProtocolError)
    assert len(received) == 2
    # anthropic up to 2.16 lets the transport's error through; 2.17 wraps it, as openai does
    with pytest.raises((httpx2.RemoteProtocolError, anthropic.APIConnectionError)) as cut:
        list(
            ant.messages.create(model="reset-mid-stream", max_tokens=5, messages=user, stream=True)
        )
    error = cut.value
    if isinstance(error, anthropic.APIConnectionError):
        error = error.__cause__
    assert isinstance(error, httpx2.RemoteProtocolError)
    with pytest.raises(openai.APIConnectionError):
        oai.chat.completions.create(model="reset-mid-stream", messages=user)
    with pytest.raises(openai.APIConnectionError):
        list(oai.responses.create(model="reset-mid-stream", input="x", stream=True))
    # The server keeps serving afterwards.
    assert oai.chat.completions.create(model="m", messages=user).choices[0].message.content
    assert [r["status"] for r in server.requests] == [200] * 5
    assert [r["usage"] for r in server.requests][:4] == [None] * 4


def test_slow_model_delays_the_answer(server: FakeLLMServer) -> None:
    user = [{"role": "user", "content": "x"}]
    impatient = openai.OpenAI(
        base_url=server.openai_base_url, api_key="sk-test", max_retries=0, timeout=0.2
    )
    with pytest.raises(openai.APITimeoutError):
        impatient.chat.completions.create(model="slow-3000", messages=user)
    patient = openai.OpenAI(base_url=server.openai_base_url, api_key="sk-test", max_retries=0)
    reply = patient.chat.completions.create(model="slow-20", messages=user)
    assert reply.choices[0].message.content == "Fake reply from slow-20: x"
    assert reply.usage.prompt_tokens > 0


# --- request log helpers -----------------------------------------------------------------------


def test_total_usage_and_clear(
    server: FakeLLMServer, oai: openai.OpenAI, ant: anthropic.Anthropic
) -> None:
    oai.chat.completions.create(model="o3", messages=[{"role": "user", "content": LONG_PROMPT}])
    ant.messages.create(
        model="c", max_tokens=5, messages=[{"role": "user", "content": LONG_PROMPT}]
    )
    with pytest.raises(openai.RateLimitError):
        oai.chat.completions.create(model="error-429", messages=[{"role": "user", "content": "x"}])
    usages = [r["usage"] for r in server.requests if r["usage"]]
    assert len(usages) == 2
    assert server.total_usage() == {k: usages[0][k] + usages[1][k] for k in usages[0]}
    snapshot = server.requests
    snapshot[0]["body"]["model"] = "mutated"
    assert server.requests[0]["body"]["model"] == "o3"
    server.clear()
    assert server.requests == []
    assert set(server.total_usage().values()) == {0}
