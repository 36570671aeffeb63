// Node apps whose spans ../test_node.py sends to `agentops-otel serve` (OTEL_EXPORTER_OTLP_ENDPOINT)
// while they talk to the fake LLM server (OPENAI_BASE_URL). `node app.js <mode>`:
//   vercel6       ai 6 + @ai-sdk/openai 3, experimental_telemetry (ai.* spans)
//   vercel7       ai 7 + @ai-sdk/openai 4 + @ai-sdk/otel (GenAI spans)
//   traceloop     @traceloop/node-server-sdk workflow / agent / tool over the openai client
//   openinference @arizeai/openinference-instrumentation-openai over the openai client, in a session
// Each mode: a tool round trip (two model calls), then one streamed call.
"use strict";

const { z } = require("zod");

const MODEL = "gpt-4o-mini";
const baseURL = process.env.OPENAI_BASE_URL;
const weather = async ({ city }) => `Sunny in ${city}`;
const WEATHER = {
  type: "function",
  function: {
    name: "get_weather", description: "The weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

function tracerProvider() {
  const { NodeTracerProvider, BatchSpanProcessor } = require("@opentelemetry/sdk-trace-node");
  const { OTLPTraceExporter } = require("@opentelemetry/exporter-trace-otlp-proto");
  const provider = new NodeTracerProvider({
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register();
  return provider;
}

// The openai client's tool round trip and streamed call; `runTool` wraps the tool's execution.
async function conversation(client, runTool) {
  const messages = [{ role: "user", content: "Weather in Paris?" }];
  const first = await client.chat.completions.create({ model: MODEL, messages, tools: [WEATHER] });
  const message = first.choices[0].message;
  const call = message.tool_calls[0];
  messages.push(message);
  const result = await runTool(() => weather(JSON.parse(call.function.arguments)));
  messages.push({ role: "tool", tool_call_id: call.id, content: result });
  await client.chat.completions.create({ model: MODEL, messages, tools: [WEATHER] });
  const stream = await client.chat.completions.create({
    model: MODEL, messages: [{ role: "user", content: "Say hello" }], stream: true,
    stream_options: { include_usage: true },
  });
  for await (const _ of stream) { /* drain */ }
}

async function vercel(ai, createOpenAI, telemetry) {
  const openai = createOpenAI({ baseURL, apiKey: "sk-test" });
  const tools = { get_weather: ai.tool({
    description: "The weather in a city", inputSchema: z.object({ city: z.string() }), execute: weather,
  }) };
  await ai.generateText({
    model: openai.chat(MODEL), prompt: "Weather in Paris?", tools,
    stopWhen: ai.stepCountIs(2), ...telemetry,
  });
  const result = ai.streamText({ model: openai.chat(MODEL), prompt: "Say hello", ...telemetry });
  for await (const _ of result.textStream) { /* drain */ }
}

const modes = {
  async vercel6() {
    const provider = tracerProvider();
    await vercel(require("ai-v6"), require("@ai-sdk/openai-v3").createOpenAI,
      { experimental_telemetry: { isEnabled: true, functionId: "forecaster" } });
    await provider.shutdown();
  },
  async vercel7() {
    const provider = tracerProvider();
    const ai = require("ai");
    ai.registerTelemetry(new (require("@ai-sdk/otel").OpenTelemetry)());
    await vercel(ai, require("@ai-sdk/openai").createOpenAI, { telemetry: { functionId: "forecaster" } });
    await provider.shutdown();
  },
  async traceloop() {
    const traceloop = require("@traceloop/node-server-sdk");
    const { OpenAI } = require("openai");  // the class: its static Chat is what gets patched
    traceloop.initialize({
      appName: "traceloop-app", baseUrl: process.env.OTEL_EXPORTER_OTLP_ENDPOINT, apiKey: "none",
      disableBatch: true, instrumentModules: { openAI: OpenAI }, traceloopSyncEnabled: false,
    });
    const client = new OpenAI({ baseURL, apiKey: "sk-test", maxRetries: 0 });
    await traceloop.withWorkflow({ name: "weather_flow" }, () =>
      traceloop.withAgent({ name: "forecaster" }, () =>
        conversation(client, (run) => traceloop.withTool({ name: "get_weather" }, run))));
    await traceloop.forceFlush();
  },
  async openinference() {
    const provider = tracerProvider();
    const { OpenAIInstrumentation } = require("@arizeai/openinference-instrumentation-openai");
    const { setSession } = require("@arizeai/openinference-core");
    const { context } = require("@opentelemetry/api");
    const OpenAI = require("openai");
    new OpenAIInstrumentation().manuallyInstrument(OpenAI);
    const client = new OpenAI({ baseURL, apiKey: "sk-test", maxRetries: 0 });
    await context.with(setSession(context.active(), { sessionId: "oi-js-session" }),
      () => conversation(client, (run) => run()));
    await provider.shutdown();
  },
};

modes[process.argv[2]]().catch((err) => {
  console.error(err);
  process.exit(1);
});
