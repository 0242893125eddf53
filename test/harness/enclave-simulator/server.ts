import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeyObject } from 'node:crypto';
import { PROTOCOL } from 'ehbp';
import { attestationAnswer } from './attestation.ts';
import { control } from './control.ts';
import { createResponseSealer, EhbpRequestError, keyConfigProblem, openRequest, type OpenedRequest } from './ehbp.ts';
import { sendRouterError, takeRouterError } from './router-errors.ts';
import { answer, type RouteOptions } from './routes.ts';
import type { RecordedRequest, SimulatorControls, SimulatorState } from './state.ts';
import { send, USAGE_METRICS_REQUEST_HEADER } from './transport.ts';

/**
 * The simulator's HTTP front: reads a request, serves the key configuration and the attestation,
 * opens EHBP bodies, records what it saw, and hands the answer to the transport. Control calls go
 * to the control API.
 */

/** MAX_BODY bounds a request body the simulator buffers (requests are small; frames may be 64 MiB). */
const MAX_BODY = 65 * 1024 * 1024;

/** ServerDeps is everything the front needs; `domain` is known only once the server listens. */
export interface ServerDeps {
  readonly state: SimulatorState;
  readonly controls: SimulatorControls;
  readonly signingKey: KeyObject;
  readonly routes: RouteOptions;
  readonly now: () => Date;
  readonly domain: () => string;
  /** controlToken, when set, is the bearer token `/control/` calls must carry. */
  readonly controlToken?: string;
}

type Recorded = { -readonly [K in keyof RecordedRequest]: RecordedRequest[K] };

/** Exchange is one request being answered: the raw body is already read. */
interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly path: string;
  readonly raw: Buffer;
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new BodyTooLarge(`request body exceeds ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function jsonBody(body: Buffer | undefined, contentType: string): unknown {
  if (body === undefined || body.length === 0 || !contentType.includes('json')) return undefined;
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function record(deps: ServerDeps, { req, path }: Exchange, encrypted: boolean, body?: Buffer): Recorded {
  const state = deps.state;
  state.seq += 1;
  const entry: Recorded = { seq: state.seq, method: req.method ?? 'GET', path, encrypted, headers: headersOf(req), time: deps.now() };
  const parsed = jsonBody(body, req.headers['content-type'] ?? '');
  if (parsed !== undefined) entry.body = parsed;
  state.log.push(entry);
  return entry;
}

function writeJson(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': contentType, 'content-length': String(payload.length) });
  res.end(payload);
}

/** openOrRefuse opens an encrypted body; undefined for plaintext, null once it answered a refusal. */
async function openOrRefuse(deps: ServerDeps, exchange: Exchange): Promise<OpenedRequest | null | undefined> {
  const { req, res, raw } = exchange;
  const enc = req.headers[PROTOCOL.ENCAPSULATED_KEY_HEADER.toLowerCase()];
  // A bodyless request has no HPKE context and passes through in plaintext (SPEC.md §7.4).
  if (enc === undefined || raw.length === 0) return undefined;
  try {
    return await openRequest(deps.state.key.privateKey, Array.isArray(enc) ? enc.join(',') : enc, raw);
  } catch (error) {
    if (!(error instanceof EhbpRequestError)) throw error;
    record(deps, exchange, true).status = error.status;
    // Refusals are plaintext: no context was established to seal them under.
    if (error.status === 422) writeJson(res, 422, keyConfigProblem(error.message), PROTOCOL.PROBLEM_JSON_MEDIA_TYPE);
    else writeJson(res, 400, { error: 'failed to decrypt request' });
    return null;
  }
}

async function serveInference(deps: ServerDeps, exchange: Exchange): Promise<void> {
  const { req, res, path } = exchange;
  // The router rejects before the enclave opens anything: no HPKE context, so no nonce (EHBP §5.3).
  const rejected = takeRouterError(deps.state, req.headers.authorization);
  if (rejected !== undefined) {
    record(deps, exchange, req.headers[PROTOCOL.ENCAPSULATED_KEY_HEADER.toLowerCase()] !== undefined && exchange.raw.length > 0).status = rejected.status;
    await sendRouterError(res, rejected);
    return;
  }
  const opened = await openOrRefuse(deps, exchange);
  if (opened === null) return;
  const body = opened?.plaintext ?? exchange.raw;
  const entry = record(deps, exchange, opened !== undefined, body);
  const behaviour = deps.state.behaviour;
  const ctx = { settings: behaviour, id: `sim${entry.seq}`, created: Math.floor(deps.now().getTime() / 1000) };
  const contentType = req.headers['content-type'] ?? '';
  const result = answer(ctx, { method: req.method ?? 'GET', path, body, contentType, authorization: req.headers.authorization }, deps.routes);
  const sealer = opened !== undefined && !behaviour.plaintextAnswers ? await createResponseSealer(opened) : undefined;
  entry.status = result.kind === 'stream' ? 200 : result.status;
  const metrics = req.headers[USAGE_METRICS_REQUEST_HEADER] === 'true';
  await send(res, result, { sealer, metrics, behaviour });
}

async function serveControl(deps: ServerDeps, { req, res, path, raw }: Exchange): Promise<void> {
  if (deps.controlToken !== undefined && req.headers.authorization !== `Bearer ${deps.controlToken}`) {
    writeJson(res, 401, { error: 'control calls need the control token' });
    return;
  }
  const result = await control(deps.controls, req.method ?? 'GET', path, raw);
  writeJson(res, result.status, result.body);
}

async function handle(deps: ServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://simulator').pathname;
  const exchange: Exchange = { req, res, path, raw: await readBody(req) };
  if (path.startsWith('/control/')) {
    await serveControl(deps, exchange);
    return;
  }
  if (req.method === 'GET' && path === PROTOCOL.KEYS_PATH) {
    record(deps, exchange, false).status = 200;
    const config = deps.state.key.keyConfig;
    res.writeHead(200, { 'content-type': PROTOCOL.KEYS_MEDIA_TYPE, 'content-length': String(config.byteLength) });
    res.end(config);
    return;
  }
  if (req.method === 'GET' && path === '/attestation') {
    const { state } = deps;
    const signed = { release: state.release, hpkePublicKey: state.key.publicKeyHex, fault: state.behaviour.attestationFault, validityMs: state.behaviour.attestationValidityMs };
    const result = attestationAnswer({ ...signed, domain: deps.domain(), signingKey: deps.signingKey, now: deps.now() });
    record(deps, exchange, false).status = result.status;
    for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
    writeJson(res, result.status, result.body);
    return;
  }
  await serveInference(deps, exchange);
}

/** requestListener is the node:http listener of a simulator. */
export function requestListener(deps: ServerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(deps, req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const status = error instanceof BodyTooLarge ? 413 : 500;
      writeJson(res, status, { error: error instanceof Error ? error.message : String(error) });
    });
  };
}
