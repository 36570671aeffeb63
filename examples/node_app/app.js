// A support bot in Node, traced with the OpenTelemetry JS SDK and sent over OTLP/HTTP (JSON) to
// `agentops-otel serve`. It looks an order up with a tool, then asks a model (an OpenAI-compatible
// chat endpoint) to write the reply. Spans follow the OpenTelemetry GenAI conventions, so serve
// counts the model calls, prices them and rolls them up under the agent.
//
// Run it with `python examples/node_app.py` (it starts the fake LLM server and serve, and sets
// OTEL_EXPORTER_OTLP_ENDPOINT and LLM_BASE_URL for this app).
"use strict";

const { trace, SpanKind, SpanStatusCode } = require("@opentelemetry/api");
const { OTLPTraceExporter } = require("@opentelemetry/exporter-trace-otlp-http");
const { resourceFromAttributes } = require("@opentelemetry/resources");
const { BatchSpanProcessor, NodeTracerProvider } = require("@opentelemetry/sdk-trace-node");

const LLM_BASE_URL = process.env.LLM_BASE_URL;
// on the calls too: serve attributes a call to the agent named on it ("Cost by agent")
const AGENT = { "gen_ai.agent.name": "support-bot" };
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ "service.name": "node-support-bot" }),
  // the exporter reads OTEL_EXPORTER_OTLP_ENDPOINT and posts to its /v1/traces
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
});
provider.register(); // the async context manager: child spans nest under the active one
const tracer = provider.getTracer("node-support-bot", "1.0.0");

/** Run `work(span)` inside a new active span that ends (with any error recorded) when it does. */
async function inSpan(name, kind, attributes, work) {
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

function lookupOrder(orderId) {
  const attributes = {
    ...AGENT,
    "gen_ai.operation.name": "execute_tool",
    "gen_ai.tool.name": "lookup_order",
    "gen_ai.tool.call.arguments": JSON.stringify({ orderId }),
  };
  return inSpan("execute_tool lookup_order", SpanKind.INTERNAL, attributes, async (span) => {
    const order = { orderId, status: "shipped", eta: "Friday" };
    span.setAttribute("gen_ai.tool.call.result", JSON.stringify(order));
    return order;
  });
}

function chat(model, messages) {
  const attributes = {
    ...AGENT,
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": model,
  };
  return inSpan(`chat ${model}`, SpanKind.CLIENT, attributes, async (span) => {
    const response = await fetch(`${LLM_BASE_URL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-example" },
      body: JSON.stringify({ model, messages }),
    });
    if (!response.ok) throw new Error(`chat completion failed: HTTP ${response.status}`);
    const body = await response.json();
    span.setAttributes({
      "gen_ai.response.id": body.id,
      "gen_ai.response.model": body.model,
      "gen_ai.response.finish_reasons": body.choices.map((c) => c.finish_reason),
      "gen_ai.usage.input_tokens": body.usage.prompt_tokens,
      "gen_ai.usage.output_tokens": body.usage.completion_tokens,
    });
    return body.choices[0].message.content;
  });
}

async function main() {
  const question = "Where is my order 1042?";
  const attributes = { ...AGENT, "gen_ai.operation.name": "invoke_agent" };
  const reply = await inSpan("invoke_agent support-bot", SpanKind.INTERNAL, attributes, async (span) => {
    console.log(`trace: ${span.spanContext().traceId}`); // serve groups the trace as one session
    const order = await lookupOrder("1042");
    const facts = `Order ${order.orderId} is ${order.status}, arriving ${order.eta}.`;
    const draft = await chat("gpt-4o-mini", [
      { role: "system", content: "Answer the customer in one friendly sentence." },
      { role: "user", content: `${question} Facts: ${facts}` },
    ]);
    return chat("gpt-4o", [
      { role: "system", content: "Check the reply for tone; return it improved." },
      { role: "user", content: `Review: ${draft}` },
    ]);
  });
  console.log(`reply: ${reply}`);
  await provider.shutdown(); // flushes the batch to serve
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
