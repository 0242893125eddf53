import type { V1Volume } from '@kubernetes/client-node';
import { priceMicros } from '../api/v1alpha1/values.ts';
import type { BudgetWindowsSpec, InferenceEndpointSpec } from '../api/v1alpha1/types.ts';

/** LIMITS_STORE_PATHS are where the proxy container finds the Redis password and CA bundle. */
export const LIMITS_STORE_PATHS = {
  dir: '/var/run/secrets/inference/limits-store',
  passwordFile: '/var/run/secrets/inference/limits-store/password',
  caFile: '/var/run/secrets/inference/limits-store/ca.crt',
} as const;

function windows(spec: BudgetWindowsSpec | undefined): Record<string, number> | undefined {
  if (spec === undefined) return undefined;
  return {
    ...(spec.daily === undefined ? {} : { dailyMicros: priceMicros(spec.daily) }),
    ...(spec.monthly === undefined ? {} : { monthlyMicros: priceMicros(spec.monthly) }),
  };
}

function store(spec: InferenceEndpointSpec): Record<string, unknown> {
  const redis = spec.limitsStore?.redis;
  if (redis === undefined) return { type: 'memory' };
  const tls = {
    ...(redis.caSecretRef === undefined ? {} : { caFile: LIMITS_STORE_PATHS.caFile }),
    ...(redis.serverName === undefined ? {} : { serverName: redis.serverName }),
  };
  return {
    type: 'redis',
    redis: {
      url: redis.url,
      ...(redis.username === undefined ? {} : { username: redis.username }),
      ...(redis.passwordSecretRef === undefined ? {} : { passwordFile: LIMITS_STORE_PATHS.passwordFile }),
      ...(Object.keys(tls).length === 0 ? {} : { tls }),
      timeoutMs: redis.timeoutMilliseconds,
      failurePolicy: redis.failurePolicy,
    },
  };
}

/**
 * limitsConfigFor renders the proxy's `limits` section (proxy/config/schema-limits.ts): the
 * per-caller and namespace rates as they are, budgets converted from decimal strings to exact
 * micro-units (ADR 0002), and the store, whose secrets are files the pod mounts.
 */
export function limitsConfigFor(spec: InferenceEndpointSpec): Record<string, unknown> {
  const { namespace, ...perCaller } = spec.rateLimits ?? {};
  const caller = windows(spec.budgets?.perCaller);
  const shared = windows(spec.budgets?.namespace);
  return {
    ...perCaller,
    ...(namespace === undefined ? {} : { namespace: { ...namespace } }),
    budgets: { ...(caller === undefined ? {} : { caller }), ...(shared === undefined ? {} : { namespace: shared }) },
    ...(spec.reservation === undefined ? {} : { reservation: { ...spec.reservation } }),
    store: store(spec),
  };
}

/** limitsStoreVolume projects the Redis password and CA bundle into one read-only volume, when the spec names them. */
export function limitsStoreVolume(spec: InferenceEndpointSpec, name: string): V1Volume | undefined {
  const redis = spec.limitsStore?.redis;
  const sources = [
    ...(redis?.passwordSecretRef ? [{ secret: { name: redis.passwordSecretRef.name, items: [{ key: redis.passwordSecretRef.key, path: 'password' }] } }] : []),
    ...(redis?.caSecretRef ? [{ secret: { name: redis.caSecretRef.name, items: [{ key: redis.caSecretRef.key, path: 'ca.crt' }] } }] : []),
  ];
  return sources.length === 0 ? undefined : { name, projected: { sources } };
}

/** limitsStorePort is the Redis port the proxy's NetworkPolicy must let out (6379 unless the URL names one). */
export function limitsStorePort(spec: InferenceEndpointSpec): number | undefined {
  const url = spec.limitsStore?.redis.url;
  if (url === undefined) return undefined;
  const port = new URL(url).port;
  return port === '' ? 6379 : Number(port);
}
