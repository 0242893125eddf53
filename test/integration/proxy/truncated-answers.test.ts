import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CONFIG_API_VERSION } from '../../../proxy/config/schema.ts';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { metricValue, simulatorConfig, startTestProxy, type TestProxy } from '../../harness/test-proxy.ts';

// EHBP has no authenticated end of stream: an upstream (or anyone on the path) can end an
// encrypted answer cleanly after any whole frame. Only the content can tell: an SSE answer ends
// with its final event, a JSON answer parses. A short answer must reach the caller as an error.

const INCOMPLETE = 'attested_inference_incomplete_answers_total';
const chat = { model: 'llama3-3-70b', messages: [{ role: 'user' as const, content: 'one two three' }] };

/** drain iterates a stream to its end and returns what came, or throws what the iteration threw. */
async function drain<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const seen: T[] = [];
  for await (const item of stream) seen.push(item);
  return seen;
}

function incompleteLogged(proxy: TestProxy): Record<string, unknown>[] {
  return proxy.logs().map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'upstream answer incomplete');
}

describe('a truncated encrypted answer reaches the openai client as an error, never as a short answer', () => {
  let simulator: EnclaveSimulator;
  let proxy: TestProxy;
  let client: OpenAI;

  beforeAll(async () => {
    simulator = await startEnclaveSimulator({ completionTexts: { '*': 'the quick brown fox jumps over the lazy dog' } });
    proxy = await startTestProxy(simulatorConfig(simulator));
    client = new OpenAI({ baseURL: `${proxy.apiUrl}/v1`, apiKey: 'caller', maxRetries: 0 });
  });
  afterAll(async () => {
    await proxy.close();
    await simulator.close();
  });
  beforeEach(() => {
    simulator.reset();
  });

  const incomplete = async (labels: Record<string, string>): Promise<number> => metricValue(await proxy.metrics(), INCOMPLETE, labels) ?? 0;

  it.each([1, 4])('chat/completions stream truncated after %i whole frames', async (frames) => {
    const before = await incomplete({ route: 'chat/completions', reason: 'missing_final_event' });
    simulator.truncateResponses({ afterChunks: frames });
    const stream = await client.chat.completions.create({ ...chat, stream: true });
    await expect(drain(stream)).rejects.toThrow();
    expect(await incomplete({ route: 'chat/completions', reason: 'missing_final_event' })).toBe(before + 1);
  });

  it('a truncated stream is charged its estimate (prompt estimate plus max_tokens), not what little usage passed', async () => {
    const estimated = async (): Promise<number> => metricValue(await proxy.metrics(), 'attested_inference_estimated_charges_total', { route: 'chat/completions', reason: 'incomplete' }) ?? 0;
    const before = await estimated();
    simulator.truncateResponses({ afterChunks: 3 });
    const request = { ...chat, max_tokens: 20, stream: true as const };
    await expect(drain(await client.chat.completions.create(request))).rejects.toThrow();
    await expect.poll(estimated).toBe(before + 1);
    const finished = proxy.logs().map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request finished').at(-1);
    // The SDK sends the body as JSON.stringify writes it; four bytes a token, plus the 20 asked for.
    const tokens = Math.ceil(Buffer.byteLength(JSON.stringify(request)) / 4) + 20;
    expect(finished).toMatchObject({ incomplete: 'missing_final_event', charged: { basis: 'estimate', reason: 'incomplete', tokens } });
  });

  it('a stream with no frame at all is a 502 naming what is missing', async () => {
    const before = await incomplete({ route: 'chat/completions', reason: 'missing_final_event' });
    simulator.truncateResponses({ afterChunks: 0 });
    const failure = await client.chat.completions.create({ ...chat, stream: true }).then(drain, (e: unknown) => e);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect(failure).toMatchObject({ status: 502, code: 'upstream_protocol_error' });
    expect((failure as Error).message).toMatch(/ended without its final event/);
    expect(await incomplete({ route: 'chat/completions', reason: 'missing_final_event' })).toBe(before + 1);
  });

  it('a whole stream still ends cleanly and is not counted', async () => {
    const before = await incomplete({});
    const chunks = await drain(await client.chat.completions.create({ ...chat, stream: true }));
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('the quick brown fox jumps over the lazy dog');
    const events = await drain(await client.responses.create({ model: 'llama3-3-70b', input: 'x', stream: true }));
    expect(events.at(-1)?.type).toBe('response.completed');
    expect(await incomplete({})).toBe(before);
  });

  it.each([0, 3])('responses stream truncated after %i whole frames (before response.completed)', async (frames) => {
    const before = await incomplete({ route: 'responses', reason: 'missing_final_event' });
    simulator.truncateResponses({ afterChunks: frames });
    // With no frame at all the error comes before the head (a 502), else while iterating.
    await expect(client.responses.create({ model: 'llama3-3-70b', input: 'x', stream: true }).then(drain)).rejects.toThrow();
    expect(await incomplete({ route: 'responses', reason: 'missing_final_event' })).toBe(before + 1);
  });

  it.each([0, 1])('a JSON answer truncated after %i whole frames', async (frames) => {
    const before = await incomplete({ route: 'chat/completions', reason: 'invalid_json' });
    simulator.truncateResponses({ afterChunks: frames });
    await expect(client.chat.completions.create(chat)).rejects.toThrow();
    expect(await incomplete({ route: 'chat/completions', reason: 'invalid_json' })).toBe(before + 1);
    const [line] = incompleteLogged(proxy).slice(-1);
    expect(line).toMatchObject({ route: 'chat/completions', reason: 'invalid_json', mode: 'encrypted' });
    // Metadata only: nothing of the answer is logged.
    expect(JSON.stringify(line)).not.toContain('chatcmpl');
  });

  it('an embeddings answer truncated is an error too', async () => {
    const before = await incomplete({ route: 'embeddings', reason: 'invalid_json' });
    simulator.truncateResponses({ afterChunks: 1 });
    await expect(client.embeddings.create({ model: 'nomic-embed-text', input: 'a b c' })).rejects.toThrow();
    expect(await incomplete({ route: 'embeddings', reason: 'invalid_json' })).toBe(before + 1);
  });
});

describe('a truncated plaintext answer from an unattested upstream is an error too', () => {
  let simulator: EnclaveSimulator;
  let proxy: TestProxy;
  let client: OpenAI;

  beforeAll(async () => {
    simulator = await startEnclaveSimulator({ apiKey: 'sk-plain' });
    proxy = await startTestProxy(
      { apiVersion: CONFIG_API_VERSION, provider: { type: 'openai-compatible', upstreamUrl: simulator.url, acknowledgeUnattested: true }, attestation: { trust: 'Development', developmentPublicKey: simulator.developmentPublicKeyPem } },
      { apiKey: 'sk-plain' },
    );
    client = new OpenAI({ baseURL: `${proxy.apiUrl}/v1`, apiKey: 'caller', maxRetries: 0 });
  });
  afterAll(async () => {
    await proxy.close();
    await simulator.close();
  });

  it('an SSE stream ended before [DONE]', async () => {
    simulator.truncateResponses({ afterChunks: 2 });
    await expect(drain(await client.chat.completions.create({ ...chat, stream: true }))).rejects.toThrow();
    expect(metricValue(await proxy.metrics(), INCOMPLETE, { route: 'chat/completions', reason: 'missing_final_event' })).toBe(1);
  });

  it('a JSON document cut to half', async () => {
    simulator.truncateResponses({ afterChunks: 1 });
    await expect(client.chat.completions.create(chat)).rejects.toThrow();
    expect(metricValue(await proxy.metrics(), INCOMPLETE, { route: 'chat/completions', reason: 'invalid_json' })).toBe(1);
    simulator.truncateResponses(null);
    expect((await client.chat.completions.create(chat)).choices).toHaveLength(1);
  });
});
