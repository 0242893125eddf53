import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import type { FastifyBaseLogger } from 'fastify';
import { Registry, type Counter } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MINIMAL_PROXY_CONFIG } from '../../test/harness/config-problems.ts';
import { parseConfig } from '../config/load.ts';
import type { RateLimiter } from '../limits/types.ts';
import { createProxyMetrics } from '../metering/metrics.ts';
import { ROUTES } from './catalogue.ts';
import { recordOutcome, type Outcome } from './outcome.ts';

const CHAT = ROUTES.find((r) => r.route === 'chat/completions')!;
const PRICE = { inputPerMillion: 1_000_000, outputPerMillion: 2_000_000 };
const noLimiter = { charge: () => Promise.resolve() } as unknown as RateLimiter;
const quietLog = { info: () => undefined } as unknown as FastifyBaseLogger;

function outcome(model: string, status = 200): Outcome {
  return {
    spec: CHAT, status, caller: undefined, requestedModel: model, mode: 'encrypted', stream: true,
    usage: { model, inputTokens: 10, cachedInputTokens: 0, outputTokens: 5 }, durationMs: 12, firstOutputMs: 3,
    releaseDigest: undefined, errorCode: undefined, aborted: false,
  };
}

/** modelsIn lists the distinct `model` label values of every series on the registry. */
async function modelsIn(registry: Registry): Promise<Set<string>> {
  const models = new Set<string>();
  for (const metric of registry.getMetricsAsArray()) {
    const { values } = await (metric as unknown as Counter).get();
    for (const value of values) if (typeof value.labels.model === 'string') models.add(value.labels.model);
  }
  return models;
}

async function record(raw: Record<string, unknown>, models: readonly string[]): Promise<Set<string>> {
  const registry = new Registry();
  const deps = { config: parseConfig({ ...MINIMAL_PROXY_CONFIG, ...raw }), metrics: createProxyMetrics(registry), limiter: noLimiter };
  for (const model of models) {
    await recordOutcome(outcome(model), deps, { span: trace.getTracer('test').startSpan('x'), log: quietLog });
  }
  return modelsIn(registry);
}

describe('recordOutcome keeps the model label bounded', () => {
  const random = Array.from({ length: 100 }, () => `model-${randomUUID()}`);

  it('labels 100 caller-chosen model names, served without an allow-list, as one `other` in every metric', async () => {
    expect(await record({}, random)).toEqual(new Set(['other']));
  });

  it('keeps the names of priced models, and of allow-listed ones', async () => {
    expect(await record({ prices: { models: { priced: PRICE } } }, ['priced', ...random])).toEqual(new Set(['priced', 'other']));
    expect(await record({ models: { allowed: ['allowed'] }, prices: { models: { priced: PRICE } } }, ['allowed', 'priced', ...random]))
      .toEqual(new Set(['allowed', 'other']));
  });

  it('labels a request without a model `unknown`', async () => {
    const registry = new Registry();
    const deps = { config: parseConfig(MINIMAL_PROXY_CONFIG), metrics: createProxyMetrics(registry), limiter: noLimiter };
    await recordOutcome({ ...outcome('x'), requestedModel: undefined, usage: undefined }, deps, { span: trace.getTracer('test').startSpan('x'), log: quietLog });
    expect(await modelsIn(registry)).toEqual(new Set(['unknown']));
  });
});
