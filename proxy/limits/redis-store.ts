import type { Redis } from 'ioredis';
import { BUCKET_SCRIPT } from './redis-script.ts';
import type { BucketCharge, BucketRequest, BucketSpec, BucketState, BucketStore } from './types.ts';

/** RedisStoreOptions place one store's keys: every key starts with `keyPrefix`. */
export interface RedisStoreOptions {
  /**
   * keyPrefix names the namespace whose buckets these are, e.g. `aio:{team-a}:`. The braces are a
   * Redis Cluster hash tag: all of a namespace's buckets live in one slot, so one script can touch
   * a request's caller and namespace buckets together.
   */
  readonly keyPrefix: string;
}

interface BucketCommand {
  aioBuckets(numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

const COMMAND = 'aioBuckets';
const FIELDS_PER_BUCKET = 4;

/** number writes a double so that Lua's tonumber reads back exactly the same value. */
function number(value: number): string {
  return String(value);
}

function parseNumber(text: unknown): number {
  if (text === 'inf') return Infinity;
  const value = typeof text === 'number' ? text : Number(text);
  if (!Number.isFinite(value)) throw new Error(`limits store answered a malformed number: ${String(text)}`);
  return value;
}

function parseReply(reply: unknown, specs: readonly BucketSpec[]): BucketState[] {
  if (!Array.isArray(reply) || reply.length !== specs.length * FIELDS_PER_BUCKET) {
    throw new Error('limits store answered a malformed reply');
  }
  return specs.map((spec, i) => {
    const [allowed, remaining, retryAfterMs, resetMs] = reply.slice(i * FIELDS_PER_BUCKET, (i + 1) * FIELDS_PER_BUCKET) as unknown[];
    return {
      allowed: parseNumber(allowed) === 1,
      capacity: spec.capacity,
      remaining: parseNumber(remaining),
      retryAfterMs: parseNumber(retryAfterMs),
      resetMs: parseNumber(resetMs),
    };
  });
}

interface Operation {
  readonly key: string;
  readonly spec: BucketSpec;
  readonly amount: number;
  readonly minimum: number;
}

/**
 * createRedisStore keeps buckets in Redis, shared by every replica and sidecar that uses the same
 * prefix. Each operation is one EVALSHA of BUCKET_SCRIPT over all of a request's buckets (ioredis
 * falls back to EVAL once when Redis has not seen the script, e.g. after a restart), so it is
 * atomic and costs one round trip. Time is the caller's clock, passed in: replicas agree through
 * NTP, tests inject theirs, and the bucket never runs time backwards (see docs/adr/0007).
 */
export function createRedisStore(client: Redis, options: RedisStoreOptions): BucketStore {
  client.defineCommand(COMMAND, { lua: BUCKET_SCRIPT });
  const redis = client as Redis & BucketCommand;
  const run = async (mode: 'take' | 'charge', ops: readonly Operation[], nowMs: number): Promise<BucketState[]> => {
    if (ops.length === 0) return [];
    const args: string[] = [];
    for (const op of ops) {
      args.push(number(op.spec.capacity), number(op.spec.refillPerMs), number(op.amount), number(op.minimum), number(op.spec.expireAtMs ?? 0));
    }
    const keys = ops.map((op) => `${options.keyPrefix}${op.key}`);
    const reply = await redis.aioBuckets(keys.length, ...keys, number(nowMs), mode, ...args);
    return parseReply(reply, ops.map((op) => op.spec));
  };
  return {
    take: (requests: readonly BucketRequest[], nowMs: number) => run('take', requests, nowMs),
    charge: (charges: readonly BucketCharge[], nowMs: number) => run('charge', charges.map((c) => ({ ...c, minimum: 0 })), nowMs),
  };
}
