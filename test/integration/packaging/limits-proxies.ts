import { costMicros } from '../../../proxy/metering/cost.ts';
import type { ModelPrice } from '../../../proxy/metering/types.ts';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { waitFor } from '../../harness/processes.ts';
import { startRedisServer, type RedisServer } from '../../harness/redis-server.ts';
import { metricValue, type TestProxy } from '../../harness/test-proxy.ts';
import type { Where } from './traffic.ts';

// team-d's upstream reports 100 prompt and 50 completion tokens, so every answer costs the same: its
// day budget is two answers (the third is refused), its month budget two answers at 95 % (nearly spent).
const METERED = { promptTokens: 100, completionTokens: 50, cachedTokens: 0 };
/** CALLER_DAILY_MICROS is team-e's caller budget: more than one request's reservation, less than one answer. */
const CALLER_DAILY_MICROS = 100;

/** StartProxy starts a proxy for `namespace/name` in front of `simulator`, cleaned up by the caller. */
export type StartProxy = (namespace: string, name: string, simulator: EnclaveSimulator, extra: Record<string, unknown>) => Promise<TestProxy>;

/** LimitsProxies are the two proxies whose limits live in a real redis-server. */
export interface LimitsProxies {
  /** budget is team-d/budget: namespace budgets of two answers a day and `monthMicros` a month. */
  readonly budget: TestProxy;
  readonly budgetAt: Where;
  /** store is team-e/store: a request limit and a caller budget that one answer spends, in a Redis that `storeDown` stops. */
  readonly store: TestProxy;
  readonly storeAt: Where;
  /** answerMicros is what each of team-d's answers costs. */
  readonly answerMicros: number;
  readonly monthMicros: number;
  /** spent waits until team-d reports `micros` spent today: a charge runs after its answer was sent. */
  spent(micros: number): Promise<void>;
  /** callerSpent waits until team-e's first charge took its caller's budget across 100 %. */
  callerSpent(): Promise<void>;
  /** storeDown stops team-e's Redis and waits until its proxy noticed. */
  storeDown(): Promise<void>;
}

/**
 * startLimitsProxies starts team-d (spend budgets) and team-e (a request limit), each with its own
 * real redis-server as a shared limits store (FailOpen), both in front of their own upstream whose
 * usage is fixed. Everything it starts is pushed onto `cleanups`.
 */
export async function startLimitsProxies(options: { start: StartProxy; price: ModelPrice; cleanups: (() => Promise<void>)[] }): Promise<LimitsProxies> {
  const { start, price, cleanups } = options;
  const answerMicros = costMicros({ inputTokens: METERED.promptTokens, cachedInputTokens: 0, outputTokens: METERED.completionTokens }, price);
  const monthMicros = Math.ceil((2 * answerMicros) / 0.95);
  const metered = await startEnclaveSimulator();
  cleanups.push(() => metered.close());
  metered.setUsage(METERED);
  const redis: RedisServer[] = [];
  for (let i = 0; i < 2; i++) {
    const server = await startRedisServer();
    cleanups.push(() => server.close());
    redis.push(server);
  }
  const [budgetRedis, storeRedis] = redis as [RedisServer, RedisServer];
  const store = (server: RedisServer): Record<string, unknown> => ({ type: 'redis', redis: { url: server.url, failurePolicy: 'FailOpen', timeoutMs: 250 } });
  // A request reserves its estimate before it is sent: with the default 1,024 output tokens one
  // request would be larger than the whole day budget, so team-d reserves what its upstream answers.
  const d = await start('team-d', 'budget', metered, { limits: { reservation: { defaultOutputTokens: METERED.completionTokens }, budgets: { namespace: { dailyMicros: 2 * answerMicros, monthlyMicros: monthMicros } }, store: store(budgetRedis) } });
  // team-e's first answer must be let in and then take its caller across the budget: it reserves a
  // single output token (about 22 micro-units in all, under the 100 of the budget) and is charged
  // the fixed usage of the metered upstream (150).
  const e = await start('team-e', 'store', metered, { limits: { requestsPerMinute: 600, reservation: { defaultOutputTokens: 1 }, budgets: { caller: { dailyMicros: CALLER_DAILY_MICROS } }, store: store(storeRedis) } });
  const storeUp = async (proxy: TestProxy): Promise<number | undefined> => metricValue(await proxy.metrics(), 'attested_inference_limits_store_up');
  await waitFor('team-d and team-e to reach Redis', async () => (await storeUp(d)) === 1 && (await storeUp(e)) === 1, { timeoutMs: 10_000, intervalMs: 50 });
  const prices = { 'llama3-3-70b': price };
  return {
    budget: d,
    budgetAt: { namespace: 'team-d', endpoint: 'team-d/budget', apiUrl: d.apiUrl, prices },
    store: e,
    storeAt: { namespace: 'team-e', endpoint: 'team-e/store', apiUrl: e.apiUrl, prices },
    answerMicros,
    monthMicros,
    async spent(micros: number): Promise<void> {
      const day = async (): Promise<number | undefined> => metricValue(await d.metrics(), 'attested_inference_budget_spent_micros', { window: 'day', currency: 'USD' });
      await waitFor(`team-d to have spent ${String(micros)}`, async () => (await day()) === micros, { timeoutMs: 5_000, intervalMs: 20 });
    },
    async callerSpent(): Promise<void> {
      const crossed = async (): Promise<number | undefined> => metricValue(await e.metrics(), 'attested_inference_budget_threshold_crossings_total', { scope: 'caller', window: 'day', threshold: '100' });
      await waitFor('team-e to have spent its caller budget', async () => (await crossed()) === 1, { timeoutMs: 5_000, intervalMs: 20 });
    },
    async storeDown(): Promise<void> {
      await storeRedis.stop();
      await waitFor('team-e to see Redis gone', async () => (await storeUp(e)) === 0, { timeoutMs: 10_000, intervalMs: 50 });
    },
  };
}
