import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CONFIG_API_VERSION } from '../../../proxy/config/schema.ts';
import { startPrivatemodeStandIn, type PrivatemodeStandIn } from '../../harness/privatemode-standin.ts';
import { freePort } from '../../harness/processes.ts';
import { metricValue, startTestProxy, type TestProxy } from '../../harness/test-proxy.ts';

/**
 * Provider privatemode: the proxy forwards plaintext over loopback to privatemode-proxy (here a
 * stand-in taking the same flags) and holds no key itself; it meters from the plaintext `usage`
 * and reports the attestation as delegated. What the real privatemode-proxy does beyond that
 * (attesting Privatemode, encrypting) is not exercised here.
 */

const chat = { model: 'llama3-3-70b', messages: [{ role: 'user' as const, content: 'hello' }] };

describe('provider privatemode, through a privatemode-proxy stand-in on loopback', () => {
  let dir: string;
  let standIn: PrivatemodeStandIn;
  let proxy: TestProxy;
  const client = (): OpenAI => new OpenAI({ baseURL: `${proxy.apiUrl}/v1`, apiKey: 'caller-key', maxRetries: 0 });
  const seen = (): ReturnType<PrivatemodeStandIn['simulator']['requests']> => standIn.simulator.requests().filter((r) => r.path.startsWith('/v1/'));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aio-privatemode-'));
    await writeFile(join(dir, 'api-key'), 'pm-key-held-by-privatemode-proxy\n');
    standIn = await startPrivatemodeStandIn([`--apiKey=@${join(dir, 'api-key')}`, `--port=${String(await freePort())}`, `--workspace=${dir}`]);
    proxy = await startTestProxy({
      apiVersion: CONFIG_API_VERSION,
      endpoint: { name: 'pm', namespace: 'proxy-tests' },
      provider: { type: 'privatemode', upstreamUrl: standIn.url },
      prices: { currency: 'USD', models: { 'llama3-3-70b': { inputPerMillion: 1_000_000, cachedInputPerMillion: 500_000, outputPerMillion: 2_000_000 } } },
    }, { noProviderKey: true });
  });
  afterAll(async () => {
    await proxy.close();
    await standIn.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    standIn.simulator.reset();
    standIn.simulator.clearRequests();
  });

  it('answers the openai SDK in plaintext over loopback, sending no key of its own nor the caller\'s', async () => {
    expect(standIn.apiKey).toBe('pm-key-held-by-privatemode-proxy');
    const completion = await client().chat.completions.create(chat);
    expect(completion.choices[0]?.message.content).toBeTruthy();
    const [request] = seen();
    expect(request).toMatchObject({ encrypted: false, path: '/v1/chat/completions' });
    expect(request?.headers.authorization).toBeUndefined();
  });

  it('meters tokens and cost from the plaintext usage, streamed or not', async () => {
    const read = async (type: string): Promise<number> => metricValue(await proxy.metrics(), 'attested_inference_tokens_total', { model: 'llama3-3-70b', token_type: type }) ?? 0;
    const before = await read('output');
    const completion = await client().chat.completions.create(chat);
    const stream = await client().chat.completions.create({ ...chat, stream: true, stream_options: { include_usage: true } });
    let streamed = 0;
    for await (const chunk of stream) streamed += chunk.usage?.completion_tokens ?? 0;
    expect(streamed).toBeGreaterThan(0);
    expect(await read('output') - before).toBe((completion.usage?.completion_tokens ?? 0) + streamed);
  });

  it('reports the attestation as delegated and is ready at once', async () => {
    const attestation = await (await fetch(`${proxy.adminUrl}/admin/attestation`)).json() as Record<string, unknown>;
    expect(attestation).toEqual({ provider: 'privatemode', attested: false, status: 'delegated' });
    expect((await fetch(`${proxy.adminUrl}/readyz`)).status).toBe(200);
    expect(metricValue(await proxy.metrics(), 'attested_inference_unattested')).toBe(0);
    expect(proxy.logs().join('\n')).toContain('attestation delegated to privatemode-proxy');
  });

  it('relays privatemode-proxy\'s refusal when its attestation or secret renewal fails', async () => {
    standIn.simulator.rejectAtRouter({ status: 500, body: 'openai' });
    const failure = await client().chat.completions.create(chat).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.InternalServerError);
  });

  it('refuses client-sealed (EHBP) requests: privatemode-proxy does not take them', async () => {
    const answer = await fetch(`${proxy.apiUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'ehbp-encapsulated-key': 'ab'.repeat(32) }, body: 'sealed' });
    expect(answer.status).toBe(403);
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('passthrough_not_allowed');
    expect(seen()).toEqual([]);
  });
});
