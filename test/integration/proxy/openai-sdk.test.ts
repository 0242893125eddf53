import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { metricValue, simulatorConfig, startTestProxy, type TestProxy } from '../../harness/test-proxy.ts';

describe('the official openai client through the attesting proxy', () => {
  let simulator: EnclaveSimulator;
  let proxy: TestProxy;
  let client: OpenAI;

  beforeAll(async () => {
    simulator = await startEnclaveSimulator({ apiKey: 'sk-test-provider-key', usage: { cachedTokens: 2 } });
    proxy = await startTestProxy(simulatorConfig(simulator));
    client = new OpenAI({ baseURL: `${proxy.apiUrl}/v1`, apiKey: 'caller-key-that-must-not-travel', maxRetries: 0 });
  });
  afterAll(async () => {
    await proxy.close();
    await simulator.close();
  });
  beforeEach(() => simulator.clearRequests());

  const inferenceRequests = (): ReturnType<EnclaveSimulator['requests']> => simulator.requests().filter((r) => r.path.startsWith('/v1/'));

  it('encrypts a chat completion to the attested key and returns the enclave answer', async () => {
    const completion = await client.chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'one two three four' }] });
    expect(completion.choices[0]?.message.content).toBeTruthy();
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(0);
    const [sent] = inferenceRequests();
    expect(sent).toMatchObject({ path: '/v1/chat/completions', encrypted: true });
    expect(sent?.headers.authorization).toBe('Bearer sk-test-provider-key');
    expect(JSON.stringify(sent?.headers)).not.toContain('caller-key-that-must-not-travel');
  });

  it('streams, hiding the usage chunk the caller did not ask for, and meters the stream', async () => {
    const before = metricValue(await proxy.metrics(), 'attested_inference_tokens_total', { route: 'chat/completions', token_type: 'output' }) ?? 0;
    simulator.setCompletionText('the quick brown fox jumps over the lazy dog');
    const stream = await client.chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'stream please' }], stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.every((c) => c.usage === undefined || c.usage === null)).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('the quick brown fox jumps over the lazy dog');
    simulator.setCompletionText(null);
    const sent = inferenceRequests()[0]?.body as { stream_options?: { include_usage?: boolean } };
    expect(sent.stream_options?.include_usage).toBe(true);
    const after = metricValue(await proxy.metrics(), 'attested_inference_tokens_total', { route: 'chat/completions', token_type: 'output' }) ?? 0;
    expect(after).toBeGreaterThan(before);
  });

  it('passes the usage chunk through when the caller asked for it', async () => {
    const stream = await client.chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'x' }], stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.at(-1)?.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('serves completions, responses, embeddings, transcriptions and models', async () => {
    const completion = await client.completions.create({ model: 'llama3-3-70b', prompt: 'say hi' });
    expect(completion.choices[0]?.text).toBeTruthy();
    const response = await client.responses.create({ model: 'llama3-3-70b', input: 'hello there' });
    expect(response.output_text).toBeTruthy();
    const streamed = await client.responses.create({ model: 'llama3-3-70b', input: 'hello there', stream: true });
    const events = [];
    for await (const event of streamed) events.push(event.type);
    expect(events).toContain('response.completed');
    const embedding = await client.embeddings.create({ model: 'nomic-embed-text', input: 'embed me' });
    expect(embedding.data[0]?.embedding.length).toBeGreaterThan(0);
    const transcription = await client.audio.transcriptions.create({ model: 'whisper-large-v3-turbo', file: await toFile(Buffer.alloc(3000, 1), 'a.wav') });
    expect(transcription.text).toBeTruthy();
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain('llama3-3-70b');
    const paths = inferenceRequests().map((r) => `${r.path}:${String(r.encrypted)}`);
    expect(paths).toEqual([
      '/v1/completions:true', '/v1/responses:true', '/v1/responses:true', '/v1/embeddings:true', '/v1/audio/transcriptions:true', '/v1/models:false',
    ]);
  });

  it('counts tokens and cost exactly as the enclave reported them', async () => {
    const metricsBefore = await proxy.metrics();
    const read = (text: string, type: string): number => metricValue(text, 'attested_inference_tokens_total', { model: 'llama3-3-70b', token_type: type }) ?? 0;
    const costBefore = metricValue(metricsBefore, 'attested_inference_cost_micros_total', { model: 'llama3-3-70b' }) ?? 0;
    const a = await client.chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'a b c d e f g h i j' }] });
    const b = await client.chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'k l m' }] });
    const after = await proxy.metrics();
    const usages = [a.usage!, b.usage!];
    const cached = usages.reduce((s, u) => s + (u.prompt_tokens_details?.cached_tokens ?? 0), 0);
    const input = usages.reduce((s, u) => s + u.prompt_tokens, 0);
    const output = usages.reduce((s, u) => s + u.completion_tokens, 0);
    expect(read(after, 'input') - read(metricsBefore, 'input')).toBe(input - cached);
    expect(read(after, 'cached_input') - read(metricsBefore, 'cached_input')).toBe(cached);
    expect(read(after, 'output') - read(metricsBefore, 'output')).toBe(output);
    const expectedCost = usages
      .map((u) => {
        const c = u.prompt_tokens_details?.cached_tokens ?? 0;
        return Math.ceil(((u.prompt_tokens - c) * 900_000 + c * 450_000 + u.completion_tokens * 1_200_000) / 1_000_000);
      })
      .reduce((s, v) => s + v, 0);
    expect((metricValue(after, 'attested_inference_cost_micros_total', { model: 'llama3-3-70b' }) ?? 0) - costBefore).toBe(expectedCost);
    expect(metricValue(after, 'attested_inference_requests_total', { route: 'chat/completions', status_code: '200', mode: 'encrypted' })).toBeGreaterThanOrEqual(2);
    expect(metricValue(after, 'attested_inference_attestation_up')).toBe(1);
  });
});
