import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, createPublicKey, type KeyObject } from 'node:crypto';
import { releaseFor, type ReleaseSpec } from './attestation.ts';
import { createSimulatorKey } from './keys.ts';
import type { UsageOverrides } from './reply.ts';
import { requestListener } from './server.ts';
import { SimulatorController, type Behaviour, type SimulatorControls, type SimulatorState } from './state.ts';

export type { AttestationFault, ReleaseSpec, SimulatorRelease } from './attestation.ts';
export type { UsageOverrides, Usage } from './reply.ts';
export type { Behaviour, CutSettings, RecordedRequest, SimulatorControls, SlowSettings, TruncateSettings } from './state.ts';
export { defaultCompletionText, usageMetricsValue } from './reply.ts';
export type { RouterErrorBody, RouterErrorSettings } from './router-errors.ts';
export { USAGE_METRICS_HEADER, USAGE_METRICS_REQUEST_HEADER } from './transport.ts';
export { callSimulator, fetchKeyConfig, SimulatorCallError, type SimulatorCall, type SimulatorReply } from './client.ts';

/**
 * The local enclave simulator: an HTTP server that behaves like a Tinfoil enclave behind its
 * router. It speaks EHBP with a real HPKE key, serves a development attestation of its release and
 * key, answers the OpenAI-compatible endpoints deterministically, and can be steered into every
 * failure the proxy must survive. Loopback only unless told otherwise.
 */

/** EnclaveSimulatorOptions configure a simulator; everything has a default. */
export interface EnclaveSimulatorOptions {
  /** host to listen on; default 127.0.0.1. */
  readonly host?: string;
  /** port to listen on; default 0 (any free port). */
  readonly port?: number;
  /** domain the attestation binds; default the URL's host (`127.0.0.1:<port>`). */
  readonly domain?: string;
  /** models listed by `GET /v1/models`. */
  readonly models?: readonly string[];
  /** completionTexts maps model names (or `*`) to their completion text. */
  readonly completionTexts?: Readonly<Record<string, string>>;
  readonly usage?: UsageOverrides;
  /** release is the first release; default release 0. */
  readonly release?: ReleaseSpec;
  /** keySeed derives the HPKE keys (and rotated ones) deterministically; default random keys. */
  readonly keySeed?: string;
  /** signingKey is the Ed25519 development signing key; default a fresh one per simulator. */
  readonly signingKey?: KeyObject;
  /** apiKey, when set, is the bearer token inference requests must carry (any one of a list). */
  readonly apiKey?: string | readonly string[];
  /** controlToken, when set, is the bearer token `/control/` calls must carry. */
  readonly controlToken?: string;
  readonly now?: () => Date;
}

/** EnclaveSimulator is a running simulator: its address, its trust anchor, and its controls. */
export interface EnclaveSimulator extends SimulatorControls {
  /** url is the base URL, e.g. `http://127.0.0.1:40123`; also the attestation `bundleUrl`. */
  readonly url: string;
  /** host is the URL's host (`127.0.0.1:40123`). */
  readonly host: string;
  /** developmentPublicKeyPem is the SPKI PEM of the key that signs the attestation. */
  readonly developmentPublicKeyPem: string;
  /** keyConfig is the current RFC 9458 key configuration, as served at `/.well-known/hpke-keys`. */
  readonly keyConfig: Uint8Array;
  close(): Promise<void>;
}

/** DEFAULT_MODELS are the models a simulator lists unless told otherwise (names Tinfoil serves). */
export const DEFAULT_MODELS: readonly string[] = ['llama3-3-70b', 'gpt-oss-120b', 'nomic-embed-text', 'whisper-large-v3-turbo'];

class RunningSimulator extends SimulatorController implements EnclaveSimulator {
  readonly url: string;
  readonly host: string;
  readonly developmentPublicKeyPem: string;
  readonly #server: Server;
  readonly #state: SimulatorState;

  constructor(parts: { state: SimulatorState; initial: Behaviour; keySeed?: string; server: Server; host: string; publicKeyPem: string }) {
    super(parts.state, parts.initial, parts.keySeed);
    this.#state = parts.state;
    this.#server = parts.server;
    this.host = parts.host;
    this.url = `http://${parts.host}`;
    this.developmentPublicKeyPem = parts.publicKeyPem;
  }

  get keyConfig(): Uint8Array {
    return this.#state.key.keyConfig;
  }

  async close(): Promise<void> {
    const closed = once(this.#server, 'close');
    this.#server.close();
    this.#server.closeAllConnections();
    await closed;
  }
}

function hostOf(address: AddressInfo): string {
  return address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}

/** startEnclaveSimulator starts a simulator and resolves once it listens. */
export async function startEnclaveSimulator(options: EnclaveSimulatorOptions = {}): Promise<EnclaveSimulator> {
  const initial: Behaviour = {
    attestationFault: null,
    slow: { firstByteMs: 0, chunkMs: 0 },
    cut: null,
    truncate: null,
    plaintextAnswers: false,
    completionTexts: { ...options.completionTexts },
    usage: { ...options.usage },
    routerError: null,
    attestationValidityMs: null,
  };
  const state: SimulatorState = {
    releaseNumber: 0,
    release: releaseFor(0, options.release),
    key: await createSimulatorKey(0, options.keySeed),
    behaviour: initial,
    log: [],
    seq: 0,
  };
  const signingKey = options.signingKey ?? generateKeyPairSync('ed25519').privateKey;
  const publicKeyPem = createPublicKey(signingKey).export({ type: 'spki', format: 'pem' }).toString();
  const server = createServer();
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  // Handlers attach in the same tick the server starts listening, before any connection is read.
  const host = hostOf(server.address() as AddressInfo);
  const simulator = new RunningSimulator({ state, initial, keySeed: options.keySeed, server, host, publicKeyPem });
  const listener = requestListener({
    state,
    controls: simulator,
    signingKey,
    routes: { models: options.models ?? DEFAULT_MODELS, apiKey: options.apiKey },
    now: options.now ?? ((): Date => new Date()),
    domain: () => options.domain ?? host,
    controlToken: options.controlToken,
  });
  server.on('request', listener);
  return simulator;
}
