import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callSimulator, startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { simulatorConfig, startTestProxy, type TestProxy } from '../../harness/test-proxy.ts';

const PROMPT = 'PROMPT-7f3a the launch codes are in the blue folder';
const COMPLETION = 'COMPLETION-9c1e they are not in the blue folder';
const PROVIDER_KEY = 'sk-PROVIDER-KEY-5d2b';
const CALLER_KEY = 'CALLER-KEY-8e4f';

describe('what the proxy writes down', () => {
  const exporter = new InMemorySpanExporter();
  let simulator: EnclaveSimulator;
  let proxy: TestProxy;

  beforeAll(async () => {
    trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
    simulator = await startEnclaveSimulator({ apiKey: PROVIDER_KEY });
    simulator.setCompletionText(COMPLETION);
    proxy = await startTestProxy(simulatorConfig(simulator, { logLevel: 'trace' }), { apiKey: PROVIDER_KEY });
    const client = new OpenAI({ baseURL: `${proxy.apiUrl}/v1`, apiKey: CALLER_KEY, maxRetries: 0 });
    exporter.reset();
    await client.chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: PROMPT }] });
    const stream = await client.chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: PROMPT }], stream: true });
    for await (const chunk of stream) expect(chunk.object).toBe('chat.completion.chunk');
    await client.embeddings.create({ model: 'nomic-embed-text', input: PROMPT });
    await callSimulator(proxy.apiUrl, { path: '/v1/chat/completions', body: JSON.stringify({ model: 'llama3-3-70b', messages: [{ role: 'user', content: PROMPT }] }), headers: { authorization: `Bearer ${CALLER_KEY}` } });
    // A `stream` that is not a boolean is refused (400 invalid_type) before anything is sent; its body is not logged either.
    await expect(client.chat.completions.create({ model: 'llama3-3-70b', messages: [] as never, stream: 'yes' as never, extra: PROMPT } as never)).rejects.toMatchObject({ status: 400, code: 'invalid_type' });
    await fetch(`${proxy.apiUrl}/v1/chat/completions`, { method: 'POST', body: `{"broken": "${PROMPT}`, headers: { authorization: `Bearer ${CALLER_KEY}`, 'content-type': 'application/json' } });
  });
  afterAll(async () => {
    await proxy.close();
    await simulator.close();
    trace.disable();
  });

  it('logs one line per request, with no prompt, completion or key in any log line', () => {
    const logs = proxy.logs().join('\n');
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [PROMPT.slice(0, 11), COMPLETION.slice(0, 15), PROVIDER_KEY, CALLER_KEY]) expect(logs).not.toContain(secret);
    const finished = proxy.logs().map((l) => JSON.parse(l) as { msg: string; route?: string; mode?: string; status?: number }).filter((l) => l.msg === 'request finished');
    expect(finished.map((l) => `${l.route ?? ''}:${l.mode ?? 'none'}:${String(l.status)}`)).toEqual([
      'chat/completions:encrypted:200', 'chat/completions:encrypted:200', 'embeddings:encrypted:200', 'chat/completions:passthrough:200', 'chat/completions:none:400', 'chat/completions:none:400',
    ]);
  });

  it('makes one span per request carrying no content', () => {
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual([
      'POST /v1/chat/completions', 'POST /v1/chat/completions', 'POST /v1/embeddings', 'POST /v1/chat/completions', 'POST /v1/chat/completions', 'POST /v1/chat/completions',
    ]);
    const serialized = JSON.stringify(spans.map((s) => ({ attributes: s.attributes, events: s.events, name: s.name })));
    for (const secret of [PROMPT.slice(0, 11), COMPLETION.slice(0, 15), PROVIDER_KEY, CALLER_KEY]) expect(serialized).not.toContain(secret);
    expect(spans[0]?.attributes).toMatchObject({ 'gen_ai.request.model': 'llama3-3-70b', 'http.response.status_code': 200, 'attested_inference.mode': 'encrypted' });
    expect(spans[0]?.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
  });
});
