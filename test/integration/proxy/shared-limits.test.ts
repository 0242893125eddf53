import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callSimulator, startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { waitFor } from '../../harness/processes.ts';
import { startProxyProcess, type ProxyProcess } from '../../harness/proxy-process.ts';
import { startRedisServer, type RedisServer } from '../../harness/redis-server.ts';
import { metricValue, simulatorConfig } from '../../harness/test-proxy.ts';
import { costMicros } from '../../../proxy/metering/cost.ts';

// Every answer uses 100 prompt and 50 completion tokens: 150 tokens, and at the price table of
// simulatorConfig (0.90 / 1.20 per million) ceil(100 × 0.9 + 50 × 1.2) = 150 micro-units.
const TOKENS = 150;
const COST = 150;
const NAMESPACE = 'limits-tests';
// A prompt whose body estimate (four bytes a token) is above the 100 tokens the simulator reports,
// and a max_tokens of the 50 it produces: each request reserves at least what it will use.
const PROMPT = 'a'.repeat(400);
const MAX_TOKENS = 50;

interface Answer {
  readonly status: number;
  readonly code?: string;
  readonly headers: Headers;
  readonly body: string;
}

async function chat(proxy: ProxyProcess, options: { stream?: boolean } = {}): Promise<Answer> {
  const response = await fetch(`${proxy.apiUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'llama3-3-70b', messages: [{ role: 'user', content: PROMPT }], max_tokens: MAX_TOKENS, stream: options.stream === true }),
  });
  const body = await response.text();
  const code = response.status === 200 ? undefined : (JSON.parse(body) as { error: { code: string } }).error.code;
  return { status: response.status, ...(code === undefined ? {} : { code }), headers: response.headers, body };
}

/** sealed sends a client-encrypted (EHBP) request through the proxy, whose usage comes from Tinfoil's header. */
async function sealed(proxy: ProxyProcess): Promise<Answer> {
  const reply = await callSimulator(proxy.apiUrl, {
    path: '/v1/chat/completions',
    body: JSON.stringify({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'sealed' }] }),
    headers: { 'content-type': 'application/json' },
  });
  const code = reply.status === 200 ? undefined : (JSON.parse(reply.body) as { error: { code: string } }).error.code;
  const headers = new Headers();
  for (const [name, value] of Object.entries(reply.headers)) if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  return { status: reply.status, ...(code === undefined ? {} : { code }), headers, body: reply.body };
}

/** load sends `total` requests, `concurrency` at a time, alternating between the proxies and the kinds of request. */
async function load(proxies: readonly ProxyProcess[], total: number, concurrency: number, kinds: readonly ((p: ProxyProcess) => Promise<Answer>)[] = [chat]): Promise<Answer[]> {
  const answers: Answer[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const send = kinds[i % kinds.length]!;
      answers.push(await send(proxies[i % proxies.length]!));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return answers;
}

const count = (answers: readonly Answer[], status: number, code?: string): number =>
  answers.filter((a) => a.status === status && (code === undefined || a.code === code)).length;

describe('limits shared through Redis by two proxy processes', () => {
  let simulator: EnclaveSimulator;
  let redis: RedisServer;
  let admin: Redis;
  let dir: string;
  const running: ProxyProcess[] = [];

  const pair = async (name: string, limits: Record<string, unknown>, policies: readonly string[] = ['FailOpen', 'FailOpen']): Promise<ProxyProcess[]> => {
    const started = await Promise.all(policies.map((failurePolicy, i) => startProxyProcess(`${name}-${String(i)}`, simulatorConfig(simulator, {
      endpoint: { name, namespace: NAMESPACE },
      limits: { ...limits, store: { type: 'redis', redis: { url: redis.url, keyPrefix: `aio:{${name}}:`, failurePolicy, timeoutMs: 500 } } },
      logLevel: 'warn',
    }), dir)));
    running.push(...started);
    await Promise.all(started.map((p) => waitFor(`${p.name} to reach Redis`, async () => metricValue(await p.metrics(), 'attested_inference_limits_store_up') === 1, { timeoutMs: 10_000 })));
    return started;
  };

  beforeAll(async () => {
    simulator = await startEnclaveSimulator({ apiKey: 'sk-test-provider-key', usage: { promptTokens: 100, completionTokens: 50 } });
    redis = await startRedisServer();
    admin = new Redis(redis.url);
    admin.on('error', () => undefined); // it reconnects on its own once Redis is back
    dir = await mkdtemp(join(tmpdir(), 'aio-shared-limits-'));
  });
  afterAll(async () => {
    await Promise.all(running.map((p) => p.stop()));
    admin.disconnect();
    await redis.close();
    await simulator.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('holds a joint request limit exactly under concurrent load', async () => {
    const proxies = await pair('requests', { requestsPerMinute: 1, burstRequests: 40 });
    const answers = await load(proxies, 120, 16);
    expect(count(answers, 200)).toBe(40); // a refill of one per minute adds nothing while the test runs
    expect(count(answers, 429, 'rate_limit_exceeded')).toBe(80);
    const refused = answers.find((a) => a.status === 429)!;
    expect(refused.headers.get('x-ratelimit-limit-requests')).toBe('40');
    expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const rejected = await Promise.all(proxies.map(async (p) => metricValue(await p.metrics(), 'attested_inference_rate_limited_total', { limit: 'requests', scope: 'caller' }) ?? 0));
    expect(rejected[0]! + rejected[1]!).toBe(80);
  });

  it('holds a joint token limit under concurrent load: requests in flight hold their estimate, so none overshoots', async () => {
    const concurrency = 12;
    const proxies = await pair('tokens', { tokensPerMinute: 1, burstTokens: 10 * TOKENS });
    simulator.slowResponses({ firstByteMs: 20 });
    const answers = await load(proxies, 80, concurrency, [chat, (p) => chat(p, { stream: true })]);
    simulator.slowResponses(null);
    const admitted = count(answers, 200);
    expect(count(answers, 429, 'rate_limit_exceeded') + admitted).toBe(80);
    // Each request reserves at least the 150 tokens it uses, all or nothing with the others in
    // flight, so the burst of 1,500 is never exceeded, however many run at once (ADR 0007).
    expect(admitted * TOKENS).toBeLessThanOrEqual(10 * TOKENS);
    expect(admitted).toBeGreaterThanOrEqual(5);
  });

  it('charges streamed and client-sealed usage to a namespace budget, which reservations keep concurrent requests within', async () => {
    const concurrency = 16;
    const budget = 20 * COST;
    const proxies = await pair('budget', { budgets: { namespace: { dailyMicros: budget } } });
    simulator.slowResponses({ firstByteMs: 20 });
    const answers = await load(proxies, 90, concurrency, [chat, (p) => chat(p, { stream: true }), sealed]);
    simulator.slowResponses(null);
    const admitted = count(answers, 200);
    expect(count(answers, 429, 'insufficient_quota') + admitted).toBe(90);
    // Every admitted request is charged its exact cost, by whichever process served it.
    const spentKey = async (): Promise<number> => {
      const [key] = await admin.keys(`aio:{budget}:namespace:spend:day:*`);
      return -Number(await admin.hget(key!, 'l')); // a budget's bucket holds minus the spend
    };
    await waitFor('every charge to land', async () => (await spentKey()) === admitted * COST, { timeoutMs: 10_000 });
    const spent = await spentKey();
    // Every request reserved at least its cost, so the spend stays below the budget (before
    // reservations, 16 requests in flight overshot it by up to 16 × their cost).
    expect(spent).toBeLessThan(budget);
    expect(admitted).toBeGreaterThanOrEqual(5);
    const refused = answers.find((a) => a.code === 'insufficient_quota')!;
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { type: 'insufficient_quota', code: 'insufficient_quota' } });
    expect((JSON.parse(refused.body) as { error: { message: string } }).error.message).toMatch(/daily spend budget of USD 0\.003000 .* resets at \d{4}-\d\d-\d\dT00:00:00\.000Z\.$/);
    expect(refused.headers.get('x-should-retry')).toBe('false');
    // Spend with reservations crossed 80 % (at least once: a reservation given back can bring it
    // below again); 100 % is never reached while every request reserves what it uses.
    const texts = await Promise.all(proxies.map((p) => p.metrics()));
    const crossings = (threshold: string): number => texts.reduce((sum, t) => sum + (metricValue(t, 'attested_inference_budget_threshold_crossings_total', { scope: 'namespace', window: 'day', threshold }) ?? 0), 0);
    expect(crossings('80')).toBeGreaterThanOrEqual(1);
    expect(crossings('100')).toBe(0);
    expect(texts.every((t) => metricValue(t, 'attested_inference_budget_spent_micros', { window: 'day', currency: 'USD' }) !== undefined)).toBe(true);
    const status = (await proxies[0]!.status()).limits as { budgets: { scope: string; window: string; budgetMicros: number; resetAt: string }[] };
    expect(status.budgets[0]).toMatchObject({ scope: 'namespace', window: 'day', budgetMicros: budget });
    expect(status.budgets[0]!.resetAt).toMatch(/T00:00:00\.000Z$/);
  });

  it('charges a stream its caller leaves mid-way its estimate, so leaving early costs no less than staying', async () => {
    const [proxy] = await pair('leaver', { budgets: { caller: { dailyMicros: 1_000_000 } } }, ['FailOpen']);
    const body = JSON.stringify({ model: 'llama3-3-70b', messages: [{ role: 'user', content: PROMPT }], max_tokens: MAX_TOKENS, stream: true });
    simulator.slowResponses({ chunkMs: 300 });
    const controller = new AbortController();
    const response = await fetch(`${proxy!.apiUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: controller.signal });
    expect(response.status).toBe(200);
    const first = await response.body!.getReader().read();
    expect(new TextDecoder().decode(first.value as Uint8Array)).toContain('data: ');
    controller.abort(); // gone before the usage chunk
    simulator.slowResponses(null);
    // The estimate: the body at four bytes a token, plus max_tokens; priced as simulatorConfig prices the model.
    const estimate = costMicros({ inputTokens: Math.ceil(Buffer.byteLength(body) / 4), cachedInputTokens: 0, outputTokens: MAX_TOKENS }, { inputPerMillion: 900_000, outputPerMillion: 1_200_000 });
    const spent = async (): Promise<number> => {
      const [key] = await admin.keys('aio:{leaver}:caller:anonymous:spend:day:*');
      return key === undefined ? 0 : -Number(await admin.hget(key, 'l'));
    };
    await waitFor('the stream to be settled', async () => metricValue(await proxy!.metrics(), 'attested_inference_estimated_charges_total', { route: 'chat/completions', reason: 'disconnected' }) === 1, { timeoutMs: 10_000 });
    expect(await spent()).toBe(estimate);
    expect(estimate).toBeGreaterThan(COST); // more than the whole answer would have cost
  });

  it('fails open or closed while Redis is down mid-traffic, and recovers without a restart when it returns', async () => {
    const [open, closed] = await pair('outage', { requestsPerMinute: 100_000 }, ['FailOpen', 'FailClosed']);
    const phases: Record<string, Answer[]> = { up: [], stopping: [], down: [], between: [], back: [] };
    let phase = 'up';
    const sending = { going: true };
    const traffic = (async (): Promise<void> => {
      while (sending.going) {
        const current = phase;
        const answers = await Promise.all([chat(open!), chat(closed!)]);
        phases[current]!.push(...answers.map((a, i) => ({ ...a, body: i === 0 ? 'open' : 'closed' })));
      }
    })();
    const storeUp = async (p: ProxyProcess): Promise<number | undefined> => metricValue(await p.metrics(), 'attested_inference_limits_store_up');
    await waitFor('traffic while Redis is up', () => Promise.resolve(phases.up!.length >= 20), { timeoutMs: 10_000 });
    phase = 'stopping'; // answers while the proxies notice are not counted in either phase
    await redis.stop();
    await waitFor('both proxies to see Redis gone', async () => (await storeUp(open!)) === 0 && (await storeUp(closed!)) === 0, { timeoutMs: 10_000 });
    phase = 'down';
    await waitFor('traffic while Redis is down', () => Promise.resolve(phases.down!.length >= 20), { timeoutMs: 10_000 });
    phase = 'between';
    await redis.start();
    await waitFor('both proxies to reach Redis again', async () => (await storeUp(open!)) === 1 && (await storeUp(closed!)) === 1, { timeoutMs: 15_000 });
    phase = 'back';
    await waitFor('traffic after Redis returned', () => Promise.resolve(phases.back!.length >= 20), { timeoutMs: 10_000 });
    sending.going = false;
    await traffic;

    const summary = (answers: readonly Answer[], who: string): string[] => [...new Set(answers.filter((a) => a.body === who).map((a) => `${String(a.status)}${a.code ? ` ${a.code}` : ''}`))];
    expect([summary(phases.up!, 'open'), summary(phases.up!, 'closed')]).toEqual([['200'], ['200']]);
    expect([summary(phases.down!, 'open'), summary(phases.down!, 'closed')]).toEqual([['200'], ['503 limits_unavailable']]);
    expect([summary(phases.back!, 'open'), summary(phases.back!, 'closed')]).toEqual([['200'], ['200']]);
    // Fail-open answers still carry the limit's headers: the replica enforced it on its own.
    expect(phases.down!.find((a) => a.body === 'open')?.headers.get('x-ratelimit-limit-requests')).toBe('100000');
    // The restarted (empty) Redis holds the buckets again.
    expect(await admin.keys('aio:{outage}:*')).toContain('aio:{outage}:caller:anonymous:requests');
    const errors = metricValue(await closed!.metrics(), 'attested_inference_limits_store_errors_total', { operation: 'take' }) ?? 0;
    expect(errors).toBeGreaterThan(0);
    const status = (await closed!.status()).limits as { store: string; up: boolean; failurePolicy: string };
    expect(status).toMatchObject({ store: 'redis', up: true, failurePolicy: 'FailClosed' });
  });
});
