import type { InferenceEndpoint } from '../api/v1alpha1/types.ts';
import { normaliseStoreUrl, type LimitsStores, type StoreCredential } from './store-config.ts';

/** StoreAccess is whether the operator may read an endpoint's limits store, and with which of its own credentials. */
export type StoreAccess =
  | { readonly allowed: true; readonly store: StoreCredential }
  | { readonly allowed: false; readonly reason: 'LimitsStoreNotAllowed'; readonly message: string };

/**
 * storeAccess decides where the operator may connect for an endpoint's budgets. The URL an
 * endpoint names is the tenant's choice, so it only selects among the stores the admin configured
 * (exact match after `normaliseStoreUrl`); the credential, CA and server name are those configured
 * for that store, never anything from the spec. A URL the operator has no entry for is refused
 * before any connection is opened: a Redis the tenant runs would otherwise receive the operator's
 * credential in `AUTH`.
 */
export function storeAccess(endpoint: InferenceEndpoint, stores: LimitsStores): StoreAccess {
  const url = endpoint.spec.limitsStore?.redis.url;
  if (url === undefined) return { allowed: false, reason: 'LimitsStoreNotAllowed', message: 'spec.limitsStore is not set: there is no limits store to read budgets from.' };
  const store = stores.get(normaliseStoreUrl(url));
  if (store !== undefined) return { allowed: true, store };
  return {
    allowed: false,
    reason: 'LimitsStoreNotAllowed',
    message: `spec.limitsStore.redis.url ${JSON.stringify(url)} is not a limits store the operator is configured to read (chart value limitsStore.stores); the operator does not connect to it, so status.budgets is not updated.`,
  };
}

/** LimitsStoreRefused is thrown by a spend read the operator refuses to make; `reason` is the Degraded reason. */
export class LimitsStoreRefused extends Error {
  readonly reason = 'LimitsStoreNotAllowed' as const;
}
