import { generateKeyPairSync } from 'node:crypto';

/** Spec is an InferenceEndpoint spec as a user writes it (defaults omitted). */
export type Spec = Record<string, unknown>;

/** RefusedCase is a spec the API server must refuse, and what its message must name. */
export interface RefusedCase {
  readonly title: string;
  readonly spec: Spec;
  /** field is the path the error must start with, e.g. `spec.attestation.pinnedDigests`. */
  readonly field: string;
  /** says is a fragment of the message after the field. */
  readonly says: string;
}

const DIGEST = 'a'.repeat(64);

/** MINIMAL_TINFOIL is the smallest valid endpoint. */
export const MINIMAL_TINFOIL: Spec = { provider: 'tinfoil', apiKeySecretRef: { name: 'tinfoil-api-key' } };

/** MINIMAL_TINFOIL_DEFAULTED is MINIMAL_TINFOIL as the API server stores it, every default filled in. */
export const MINIMAL_TINFOIL_DEFAULTED: Spec = {
  provider: 'tinfoil',
  acknowledgeUnattested: false,
  apiKeySecretRef: { name: 'tinfoil-api-key', key: 'api-key' },
  attestation: {
    trust: 'Verified',
    configRepo: 'tinfoilsh/confidential-model-router',
    bundleUrl: 'https://atc.tinfoil.sh',
    policy: 'Follow',
    recheckInterval: '5m',
    firstVerificationWindow: '60s',
  },
  replicas: 2,
  prices: { currency: 'USD' },
  callers: { auth: 'none' },
  passthrough: { enabled: true },
  proxy: { logLevel: 'info' },
};

/** DEVELOPMENT_PUBLIC_KEY is a fresh Ed25519 public key in PEM, like the enclave simulator's. */
export const DEVELOPMENT_PUBLIC_KEY = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();

const openai = { provider: 'openai-compatible', apiKeySecretRef: { name: 'k' } };
const tinfoil = (extra: Spec): Spec => ({ ...MINIMAL_TINFOIL, ...extra });

const JWT = { jwksUrl: 'https://login.example.com/.well-known/jwks.json', issuer: 'https://login.example.com', audiences: ['inference'] };
const jwtCallers = (jwt: Spec): Spec => tinfoil({ callers: { auth: 'jwt', jwt: { ...JWT, ...jwt } } });

const JWT_ACCEPTED: readonly { readonly title: string; readonly spec: Spec }[] = [
  { title: 'jwt auth with its issuer', spec: jwtCallers({}) },
  { title: 'jwt auth with an allow-list and every option', spec: jwtCallers({ algorithms: ['ES256'], clockSkewSeconds: 5, maxTokenAgeSeconds: 3600, maxTokenBytes: 4096, callerClaim: 'client_id', callerLabel: 'allow-list', allowedCallers: ['billing'] }) },
];

const JWT_REFUSED: readonly RefusedCase[] = [
  { title: 'jwt auth without its jwt block', spec: tinfoil({ callers: { auth: 'jwt' } }), field: 'spec.callers.jwt', says: 'Required value' },
  { title: 'jwt auth without an issuer', spec: tinfoil({ callers: { auth: 'jwt', jwt: { jwksUrl: JWT.jwksUrl, audiences: ['a'] } } }), field: 'spec.callers.jwt.issuer', says: 'Required value' },
  { title: 'jwt auth without a jwksUrl', spec: tinfoil({ callers: { auth: 'jwt', jwt: { issuer: JWT.issuer, audiences: ['a'] } } }), field: 'spec.callers.jwt.jwksUrl', says: 'Required value' },
  { title: 'a jwt block without jwt auth', spec: tinfoil({ callers: { auth: 'none', jwt: JWT } }), field: 'spec.callers.jwt', says: 'Forbidden' },
  { title: 'jwt alg none', spec: jwtCallers({ algorithms: ['none'] }), field: 'spec.callers.jwt.algorithms[0]', says: 'Unsupported value: "none"' },
  { title: 'an http jwksUrl with Verified trust', spec: jwtCallers({ jwksUrl: 'http://login.example.com/keys' }), field: 'spec.callers.jwt.jwksUrl', says: 'must use https unless attestation.trust is Development' },
  { title: 'a jwt allow-list naming other', spec: jwtCallers({ callerLabel: 'allow-list', allowedCallers: ['billing', 'other'] }), field: 'spec.callers.jwt.allowedCallers[1]', says: 'must not be "other"' },
  { title: 'a jwt allow-list without callers', spec: jwtCallers({ callerLabel: 'allow-list' }), field: 'spec.callers.jwt.allowedCallers', says: 'Required value' },
];

/** ACCEPTED are valid specs beyond the minimal one, each exercising the allowed side of a rule. */
export const ACCEPTED: readonly { readonly title: string; readonly spec: Spec }[] = [
  { title: 'openai-compatible, acknowledged, with a URL', spec: { ...openai, acknowledgeUnattested: true, upstream: { url: 'https://llm.example.com' } } },
  { title: 'Pin with digests', spec: tinfoil({ attestation: { policy: 'Pin', pinnedDigests: [DIGEST] } }) },
  { title: 'a first-verification window of 0s', spec: tinfoil({ attestation: { firstVerificationWindow: '0s' } }) },
  { title: 'a first-verification window of 5m', spec: tinfoil({ attestation: { firstVerificationWindow: '5m' } }) },
  {
    title: 'Development trust with its key and plain-http URLs',
    spec: tinfoil({
      upstream: { url: 'http://127.0.0.1:8443' },
      attestation: { trust: 'Development', developmentPublicKey: DEVELOPMENT_PUBLIC_KEY, bundleUrl: 'http://127.0.0.1:8444', recheckInterval: '1h30m' },
    }),
  },
  { title: 'serviceaccount auth with an audience', spec: tinfoil({ callers: { auth: 'serviceaccount', audiences: ['inference'] } }) },
  { title: 'model aliases beside an allow-list, and reservation settings', spec: tinfoil({ models: { allowed: ['gpt-oss-120b'], aliases: { fast: { model: 'llama3-3-70b' } } }, reservation: { defaultOutputTokens: 256, inputBytesPerToken: 1 } }) },
  { title: 'serviceaccount auth restricted to some ServiceAccounts', spec: tinfoil({ callers: { auth: 'serviceaccount', audiences: ['inference'], allowedServiceAccounts: ['team-a/billing', 'team-b/*'] } }) },
  { title: 'callers from another namespace, authenticated', spec: tinfoil({ callers: { auth: 'serviceaccount', audiences: ['chat'], fromNamespaces: ['team-b'] } }) },
  { title: 'a privatemode endpoint with its one key', spec: { provider: 'privatemode', apiKeySecretRef: { name: 'privatemode-api-key', key: 'apiKey' } } },
  { title: 'a pool of provider keys from one Secret and another', spec: { provider: 'tinfoil', apiKeySecretRefs: [{ name: 'keys', key: 'a' }, { name: 'keys', key: 'b' }, { name: 'spare' }] } },
  ...JWT_ACCEPTED,
  { title: 'static-keys with its Secret', spec: tinfoil({ callers: { auth: 'static-keys', staticKeysSecretRef: { name: 'keys' } } }) },
  {
    title: 'prices, limits, proxy resources and pod-template overrides',
    spec: tinfoil({
      prices: { currency: 'EUR', models: { 'llama3-3-70b': { input: '0.15', cachedInput: '0.075', output: '0.600001' } }, default: { input: '1', output: '2' } },
      rateLimits: { requestsPerMinute: 60, burstRequests: 10, tokensPerMinute: 100000 },
      proxy: {
        resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: 1 } },
        podTemplate: { labels: { team: 'ml' }, tolerations: [{ key: 'gpu', operator: 'Exists', effect: 'NoSchedule' }], affinity: { nodeAffinity: {} } },
      },
    }),
  },
  {
    title: 'namespace rates, spend budgets and a Redis limits store',
    spec: tinfoil({
      rateLimits: { requestsPerMinute: 60, namespace: { tokensPerMinute: 1_000_000, burstTokens: 100_000 } },
      budgets: { perCaller: { daily: '5' }, namespace: { daily: '0', monthly: '1500.25' } },
      limitsStore: { redis: { url: 'rediss://redis.limits.svc:6380/1', passwordSecretRef: { name: 'limits-redis' }, caSecretRef: { name: 'limits-ca' }, failurePolicy: 'FailClosed' } },
    }),
  },
];

const store = { limitsStore: { redis: { url: 'redis://redis:6379' } } };

/** REFUSED are the invalid specs, each with the field its refusal must name. */
const POOL = [{ name: 'keys', key: 'a' }, { name: 'keys', key: 'b' }];
export const REFUSED: readonly RefusedCase[] = [
  { title: 'callers from another namespace without authentication', spec: tinfoil({ callers: { auth: 'none', fromNamespaces: ['team-b'] } }), field: 'spec.callers.fromNamespaces', says: 'allowed only when auth is not none' },
  { title: 'a caller namespace that is no namespace name', spec: tinfoil({ callers: { auth: 'serviceaccount', audiences: ['chat'], fromNamespaces: ['Team_B'] } }), field: 'spec.callers.fromNamespaces[0]', says: 'should match' },
  { title: 'privatemode with an upstream URL', spec: { provider: 'privatemode', apiKeySecretRef: { name: 'k' }, upstream: { url: 'https://api.privatemode.ai' } }, field: 'spec.upstream.url', says: 'not used with provider privatemode' },
  { title: 'privatemode with a key pool', spec: { provider: 'privatemode', apiKeySecretRefs: POOL }, field: 'spec.apiKeySecretRefs', says: 'not supported with provider privatemode' },
  { title: 'one provider key and a pool', spec: tinfoil({ apiKeySecretRefs: POOL }), field: 'spec.apiKeySecretRef', says: 'set exactly one of apiKeySecretRef' },
  { title: 'a pool of one key', spec: { provider: 'tinfoil', apiKeySecretRefs: [{ name: 'keys' }] }, field: 'spec.apiKeySecretRefs', says: 'should have at least 2 items' },
  { title: 'a pool of nine keys', spec: { provider: 'tinfoil', apiKeySecretRefs: Array.from({ length: 9 }, (_, i) => ({ name: 'keys', key: `k${String(i)}` })) }, field: 'spec.apiKeySecretRefs', says: 'Too many: 9: must have at most 8 items' },
  { title: 'a pool naming one key twice (the default key spelled out)', spec: { provider: 'tinfoil', apiKeySecretRefs: [{ name: 'keys' }, { name: 'keys', key: 'api-key' }] }, field: 'spec.apiKeySecretRefs', says: 'must not name the same key of the same Secret twice' },
  { title: 'openai-compatible without acknowledgeUnattested', spec: { ...openai, upstream: { url: 'https://llm.example.com' } }, field: 'spec.acknowledgeUnattested', says: 'must be true when provider is openai-compatible' },
  { title: 'openai-compatible without upstream.url', spec: { ...openai, acknowledgeUnattested: true }, field: 'spec.upstream.url', says: 'Required value' },
  { title: 'Pin without digests', spec: tinfoil({ attestation: { policy: 'Pin' } }), field: 'spec.attestation.pinnedDigests', says: 'Required value' },
  { title: 'digests without Pin', spec: tinfoil({ attestation: { pinnedDigests: [DIGEST] } }), field: 'spec.attestation.pinnedDigests', says: 'policy is Follow' },
  { title: 'a malformed digest', spec: tinfoil({ attestation: { policy: 'Pin', pinnedDigests: ['sha256:abc'] } }), field: 'spec.attestation.pinnedDigests[0]', says: 'should match' },
  { title: 'Development without a key', spec: tinfoil({ attestation: { trust: 'Development' } }), field: 'spec.attestation.developmentPublicKey', says: 'Required value' },
  { title: 'a key without Development', spec: tinfoil({ attestation: { developmentPublicKey: DEVELOPMENT_PUBLIC_KEY } }), field: 'spec.attestation.developmentPublicKey', says: 'Forbidden' },
  { title: 'a key that is not PEM', spec: tinfoil({ attestation: { trust: 'Development', developmentPublicKey: 'ed25519:abc' } }), field: 'spec.attestation.developmentPublicKey', says: 'should match' },
  { title: 'an http upstream with Verified trust', spec: tinfoil({ upstream: { url: 'http://inference.example.com' } }), field: 'spec.upstream.url', says: 'must use https unless attestation.trust is Development' },
  { title: 'an http bundle URL with Verified trust', spec: tinfoil({ attestation: { bundleUrl: 'http://atc.example.com' } }), field: 'spec.attestation.bundleUrl', says: 'must use https' },
  { title: 'an upstream URL with credentials', spec: tinfoil({ upstream: { url: 'https://user:pw@inference.example.com' } }), field: 'spec.upstream.url', says: 'should match' },
  { title: 'a recheckInterval of 5s', spec: tinfoil({ attestation: { recheckInterval: '5s' } }), field: 'spec.attestation.recheckInterval', says: 'at least 10s' },
  { title: 'a recheckInterval of banana', spec: tinfoil({ attestation: { recheckInterval: 'banana' } }), field: 'spec.attestation.recheckInterval', says: 'should match' },
  { title: 'a firstVerificationWindow of 6m', spec: tinfoil({ attestation: { firstVerificationWindow: '6m' } }), field: 'spec.attestation.firstVerificationWindow', says: 'at most 5m' },
  { title: 'a firstVerificationWindow of soon', spec: tinfoil({ attestation: { firstVerificationWindow: 'soon' } }), field: 'spec.attestation.firstVerificationWindow', says: 'should match' },
  { title: 'replicas 99', spec: tinfoil({ replicas: 99 }), field: 'spec.replicas', says: 'less than or equal to 50' },
  { title: 'a price with 7 decimals', spec: tinfoil({ prices: { models: { m: { input: '0.1234567', output: '1' } } } }), field: 'spec.prices.models.m.input', says: 'should match' },
  { title: 'a price with a currency sign', spec: tinfoil({ prices: { default: { input: '$1', output: '1' } } }), field: 'spec.prices.default.input', says: 'should match' },
  { title: 'a lowercase currency', spec: tinfoil({ prices: { currency: 'usd' } }), field: 'spec.prices.currency', says: 'should match' },
  { title: 'serviceaccount auth without audiences', spec: tinfoil({ callers: { auth: 'serviceaccount' } }), field: 'spec.callers.audiences', says: 'Required value' },
  { title: 'allowedServiceAccounts without serviceaccount auth', spec: tinfoil({ callers: { auth: 'none', allowedServiceAccounts: ['team-a/app'] } }), field: 'spec.callers.allowedServiceAccounts', says: 'allowed only when auth is serviceaccount' },
  { title: 'an allowedServiceAccounts entry that names no namespace', spec: tinfoil({ callers: { auth: 'serviceaccount', audiences: ['a'], allowedServiceAccounts: ['app'] } }), field: 'spec.callers.allowedServiceAccounts[0]', says: 'should match' },
  ...JWT_REFUSED,
  { title: 'static-keys without a Secret', spec: tinfoil({ callers: { auth: 'static-keys' } }), field: 'spec.callers.staticKeysSecretRef', says: 'Required value' },
  { title: 'an alias of an alias', spec: tinfoil({ models: { aliases: { a: { model: 'b' }, b: { model: 'llama3-3-70b' } } } }), field: 'spec.models.aliases', says: 'must map to an upstream model, not to an alias' },
  { title: 'an alias without its model', spec: tinfoil({ models: { aliases: { a: {} } } }), field: 'spec.models.aliases.a.model', says: 'Required value' },
  { title: 'a reservation of no output', spec: tinfoil({ reservation: { defaultOutputTokens: 0 } }), field: 'spec.reservation.defaultOutputTokens', says: 'should be greater than or equal to 1' },
  { title: 'a burst without its rate', spec: tinfoil({ rateLimits: { burstTokens: 10 } }), field: 'spec.rateLimits.burstTokens', says: 'requires tokensPerMinute' },
  { title: 'budgets without a limits store', spec: tinfoil({ budgets: { namespace: { daily: '10' } } }), field: 'spec.limitsStore', says: 'Required value' },
  { title: 'namespace rates without a limits store', spec: tinfoil({ rateLimits: { namespace: { requestsPerMinute: 10 } } }), field: 'spec.limitsStore', says: 'Required value' },
  { title: 'a namespace burst without its rate', spec: tinfoil({ ...store, rateLimits: { namespace: { burstRequests: 10 } } }), field: 'spec.rateLimits.namespace.burstRequests', says: 'requires requestsPerMinute' },
  { title: 'a budget with 7 decimals', spec: tinfoil({ ...store, budgets: { perCaller: { daily: '0.0000001' } } }), field: 'spec.budgets.perCaller.daily', says: 'should match' },
  { title: 'a Redis URL with a password in it', spec: tinfoil({ limitsStore: { redis: { url: 'redis://:hunter2@redis:6379' } } }), field: 'spec.limitsStore.redis.url', says: 'should match' },
  { title: 'a CA for a plain redis:// URL', spec: tinfoil({ limitsStore: { redis: { url: 'redis://redis:6379', caSecretRef: { name: 'ca' } } } }), field: 'spec.limitsStore.redis.url', says: 'allowed only with a rediss:// url' },
  { title: 'an unknown failure policy', spec: tinfoil({ limitsStore: { redis: { url: 'redis://redis:6379', failurePolicy: 'Ignore' } } }), field: 'spec.limitsStore.redis.failurePolicy', says: 'Unsupported value: "Ignore"' },
  { title: 'an unknown provider', spec: { ...MINIMAL_TINFOIL, provider: 'azure' }, field: 'spec.provider', says: 'Unsupported value: "azure"' },
  { title: 'a missing apiKeySecretRef', spec: { provider: 'tinfoil' }, field: 'spec.apiKeySecretRef', says: 'set exactly one of apiKeySecretRef (one provider key) or apiKeySecretRefs' },
  { title: 'an operator-owned pod label', spec: tinfoil({ proxy: { podTemplate: { labels: { 'app.kubernetes.io/instance': 'x' } } } }), field: 'spec.proxy.podTemplate.labels', says: "operator's own labels" },
];
