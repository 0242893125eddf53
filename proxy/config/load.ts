import { readFile } from 'node:fs/promises';
import Value from 'typebox/value';
import { parse as parseYaml } from 'yaml';
import { jwtAuthProblems } from './auth-jwt.ts';
import { aliasProblems } from './aliases.ts';
import { limitsProblems } from './schema-limits.ts';
import { ConfigSchema, TINFOIL_UPSTREAM_URL, type ProxyConfig } from './schema.ts';

/** ConfigError is an invalid configuration; its message names every offending option. */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid proxy configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * ALLOW_DEVELOPMENT_TRUST_ENV is the proxy's opt-in to `attestation.trust: Development`. Only the
 * operator sets it, on the container of an endpoint its flag and the admin policy allow development
 * trust for (operator/resources/container.ts); the quickstart and the test harnesses set it for the
 * enclave simulator. A configuration alone, which a tenant may shape, never turns it on.
 */
export const ALLOW_DEVELOPMENT_TRUST_ENV = 'AIO_ALLOW_DEVELOPMENT_TRUST';

/** Environment variables the proxy reads, here and nowhere else. */
export interface ProxyEnvironment {
  /** PROXY_CONFIG_FILE: where the configuration file is (JSON or YAML). */
  readonly PROXY_CONFIG_FILE?: string;
  /** PROXY_LISTEN_PORT / PROXY_ADMIN_PORT override the ports (e.g. a second sidecar on one host). */
  readonly PROXY_LISTEN_PORT?: string;
  readonly PROXY_ADMIN_PORT?: string;
  readonly PROXY_LOG_LEVEL?: string;
  /** OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_TRACES_EXPORTER: whether to start tracing (the SDK reads the rest). */
  readonly OTEL_EXPORTER_OTLP_ENDPOINT?: string;
  readonly OTEL_TRACES_EXPORTER?: string;
  /** AIO_ALLOW_DEVELOPMENT_TRUST=true allows attestation.trust Development (ALLOW_DEVELOPMENT_TRUST_ENV). */
  readonly AIO_ALLOW_DEVELOPMENT_TRUST?: string;
}

/** proxyEnvironment picks the variables the proxy reads from a process environment. */
export function proxyEnvironment(env: NodeJS.ProcessEnv): ProxyEnvironment {
  const names = ['PROXY_CONFIG_FILE', 'PROXY_LISTEN_PORT', 'PROXY_ADMIN_PORT', 'PROXY_LOG_LEVEL', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_TRACES_EXPORTER', ALLOW_DEVELOPMENT_TRUST_ENV] as const;
  return Object.fromEntries(names.flatMap((n) => (env[n] === undefined ? [] : [[n, env[n]]])));
}

/** tracingEnabled says whether an OpenTelemetry trace exporter is configured. */
export function tracingEnabled(env: ProxyEnvironment): boolean {
  return env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined || (env.OTEL_TRACES_EXPORTER !== undefined && env.OTEL_TRACES_EXPORTER !== 'none');
}

function optionPath(instancePath: string): string {
  return instancePath.replace(/^\//, '').replaceAll('/', '.') || '(root)';
}

function schemaProblems(value: unknown): string[] {
  return [...Value.Errors(ConfigSchema, value)]
    .filter((e) => e.keyword !== 'boolean') // additionalProperties reports each extra key twice
    .map((e) => {
      const params = e.params as { additionalProperties?: string[] };
      if (e.keyword === 'additionalProperties' && params.additionalProperties !== undefined) {
        return params.additionalProperties.map((k) => `${optionPath(`${e.instancePath}/${k}`)} is not a known option`).join('; ');
      }
      return `${optionPath(e.instancePath)} ${e.message}`;
    });
}

function attestationProblems(c: ProxyConfig, env: ProxyEnvironment): string[] {
  const problems: string[] = [];
  const development = c.attestation.trust === 'Development';
  if (development && env.AIO_ALLOW_DEVELOPMENT_TRUST !== 'true') {
    // Development trust trusts whatever key the configuration names and allows plain http: never on the configuration's word alone.
    problems.push(`attestation.trust Development needs the explicit opt-in ${ALLOW_DEVELOPMENT_TRUST_ENV}=true in the proxy's environment (the operator sets it only where development trust is allowed)`);
  }
  if (development && c.attestation.developmentPublicKey === undefined) {
    problems.push('attestation.developmentPublicKey is required when attestation.trust is Development');
  }
  if (!development && c.attestation.developmentPublicKey !== undefined) {
    problems.push('attestation.developmentPublicKey is only allowed when attestation.trust is Development');
  }
  if (c.attestation.policy === 'Pin' && c.attestation.pinnedDigests.length === 0) {
    problems.push('attestation.pinnedDigests must name at least one digest when attestation.policy is Pin');
  }
  return problems;
}

const isLoopback = (hostname: string): boolean => hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);

/**
 * privatemodeProblems: provider privatemode forwards plaintext to privatemode-proxy in the same pod,
 * which holds the key and encrypts; anything but a loopback URL would send plaintext over a network.
 */
function privatemodeProblems(c: ProxyConfig): string[] {
  const problems: string[] = [];
  const url = c.provider.upstreamUrl;
  if (url === undefined) problems.push('provider.upstreamUrl is required for provider.type privatemode (privatemode-proxy in the same pod)');
  else if (!isLoopback(new URL(url).hostname) || !url.startsWith('http://')) {
    problems.push('provider.upstreamUrl must be http on loopback (127.0.0.1, localhost or [::1]) for provider.type privatemode: plaintext goes to privatemode-proxy in the same pod only');
  }
  if (c.provider.apiKeyFile !== undefined || c.provider.apiKeyFiles !== undefined) {
    problems.push('provider.apiKeyFile and provider.apiKeyFiles are not used with provider.type privatemode: privatemode-proxy holds the key');
  }
  return problems;
}

function providerProblems(c: ProxyConfig): string[] {
  const problems: string[] = [];
  if (c.provider.apiKeyFile !== undefined && c.provider.apiKeyFiles !== undefined) problems.push('provider.apiKeyFile and provider.apiKeyFiles are exclusive: name one key file or a pool');
  if (c.provider.type === 'privatemode') return [...problems, ...privatemodeProblems(c)];
  if (c.provider.type !== 'openai-compatible') return problems;
  if (c.provider.upstreamUrl === undefined) problems.push('provider.upstreamUrl is required for provider.type openai-compatible');
  if (!c.provider.acknowledgeUnattested) {
    problems.push('provider.acknowledgeUnattested must be true for provider.type openai-compatible (its upstream is not attested)');
  }
  return problems;
}

function shutdownProblems(c: ProxyConfig): string[] {
  // The grace period's deadline must fall after the drain window, or new streams of the window
  // would run without one.
  if (c.shutdownDrainSeconds === 0 || c.shutdownDrainSeconds < c.shutdownGraceSeconds) return [];
  return [`shutdownDrainSeconds (${String(c.shutdownDrainSeconds)}) must be less than shutdownGraceSeconds (${String(c.shutdownGraceSeconds)})`];
}

function urlProblems(c: ProxyConfig): string[] {
  const development = c.attestation.trust === 'Development';
  const urls = [
    ['provider.upstreamUrl', c.provider.upstreamUrl],
    ['attestation.bundleUrl', c.attestation.bundleUrl],
    ['auth.jwt.jwksUrl', c.auth.jwt?.jwksUrl],
  ] as const;
  return urls.flatMap(([name, url]) => {
    if (url === undefined) return [];
    const { protocol, hostname } = new URL(url);
    if (protocol !== 'http:' && protocol !== 'https:') return [`${name} must be an http(s) URL`];
    // An attestation bundle proves itself (signatures rooted in AMD and Sigstore), so a loopback
    // mirror may serve it over plain http; an upstream may not.
    const loopbackBundle = name === 'attestation.bundleUrl' && isLoopback(hostname);
    // privatemode-proxy in the same pod is reached over loopback in plaintext (privatemodeProblems).
    const privatemode = name === 'provider.upstreamUrl' && c.provider.type === 'privatemode';
    if (protocol === 'http:' && !development && !loopbackBundle && !privatemode) return [`${name} must be an https URL (plain http is allowed only with attestation.trust Development)`];
    return [];
  });
}

/** semanticProblems checks the rules a JSON Schema cannot express. */
function semanticProblems(c: ProxyConfig, env: ProxyEnvironment): string[] {
  const problems = [...attestationProblems(c, env), ...providerProblems(c), ...urlProblems(c), ...shutdownProblems(c), ...jwtAuthProblems(c.auth), ...limitsProblems(c.limits), ...aliasProblems(c.models.aliases)];
  if (c.auth.mode === 'static-keys' && c.auth.staticKeysFile === undefined) {
    problems.push('auth.staticKeysFile is required when auth.mode is static-keys');
  }
  if (c.auth.mode === 'serviceaccount' && c.auth.audiences.length === 0) {
    // Without an audience, TokenReview accepts tokens meant for the API server itself.
    problems.push('auth.audiences must name at least one audience when auth.mode is serviceaccount');
  }
  if (c.auth.mode !== 'serviceaccount' && c.auth.allowedServiceAccounts.length > 0) {
    problems.push('auth.allowedServiceAccounts is only allowed when auth.mode is serviceaccount');
  }
  if (c.listen.port === c.admin.port) problems.push('listen.port and admin.port must differ');
  return problems;
}

function applyEnvironment(raw: Record<string, unknown>, env: ProxyEnvironment): Record<string, unknown> {
  const out = structuredClone(raw);
  const section = (key: string): Record<string, unknown> => {
    const existing = out[key];
    const value = typeof existing === 'object' && existing !== null ? (existing as Record<string, unknown>) : {};
    out[key] = value;
    return value;
  };
  if (env.PROXY_LISTEN_PORT !== undefined) section('listen').port = Number(env.PROXY_LISTEN_PORT);
  if (env.PROXY_ADMIN_PORT !== undefined) section('admin').port = Number(env.PROXY_ADMIN_PORT);
  if (env.PROXY_LOG_LEVEL !== undefined) out.logLevel = env.PROXY_LOG_LEVEL;
  return out;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

// A schema default cannot depend on provider.type, so the tinfoil default is applied here.
function withTinfoilUpstream(config: ProxyConfig): ProxyConfig {
  if (config.provider.type !== 'tinfoil' || config.provider.upstreamUrl !== undefined) return config;
  return { ...config, provider: { ...config.provider, upstreamUrl: TINFOIL_UPSTREAM_URL } };
}

/** parseConfig validates a configuration object, applies defaults and environment overrides, and freezes it. */
export function parseConfig(raw: unknown, env: ProxyEnvironment = {}): ProxyConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(['(root) must be an object']);
  const withEnv = applyEnvironment(raw as Record<string, unknown>, env);
  const value: unknown = Value.Default(ConfigSchema, withEnv);
  const problems = schemaProblems(value);
  if (problems.length > 0) throw new ConfigError(problems);
  const config = withTinfoilUpstream(value as ProxyConfig);
  const semantic = semanticProblems(config, env);
  if (semantic.length > 0) throw new ConfigError(semantic);
  return deepFreeze(config);
}

/** loadConfig reads the configuration file named by `path` (JSON or YAML) and parses it. */
export async function loadConfig(path: string, env: ProxyEnvironment = {}): Promise<ProxyConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError([`cannot read the configuration file ${path}: ${(error as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text); // YAML 1.2 is a superset of JSON
  } catch (error) {
    throw new ConfigError([`${path} is neither JSON nor YAML: ${(error as Error).message}`]);
  }
  return parseConfig(raw, env);
}
