import type { AttestationFault, ReleaseSpec } from './attestation.ts';
import type { RouterErrorSettings } from './router-errors.ts';
import type { SimulatorControls } from './state.ts';

/**
 * The control API under `/control/`, the HTTP face of SimulatorControls, so a test can steer a
 * simulator it did not start (an in-cluster copy). Every call answers JSON; changes answer the
 * new state.
 *
 *   GET    /control/state                              release, HPKE key, behaviour switches
 *   POST   /control/release      {releaseDigest?, measurement?}
 *   POST   /control/attestation  {fault: "bad-signature" | "server-error" | "unavailable" | null}
 *   POST   /control/rotate-key
 *   POST   /control/slow         {firstByteMs?, chunkMs?}   ({} removes the delays)
 *   POST   /control/cut          {afterChunks} | {afterChunks: null}
 *   POST   /control/truncate     {afterChunks} | {afterChunks: null}   (a clean end, no reset)
 *   POST   /control/plaintext    {enabled}
 *   POST   /control/completion   {text | null, model?}
 *   POST   /control/usage        {promptTokens?, completionTokens?, cachedTokens?} | null
 *   POST   /control/router-error {status, retryAfterSeconds?, body?: "openai" | "text", bodyBytes?, times?} | {status: null}
 *   GET    /control/requests     the request log;  DELETE /control/requests clears it
 *   POST   /control/reset
 */

/** ControlAnswer is a control call's HTTP answer. */
export interface ControlAnswer {
  readonly status: number;
  readonly body: unknown;
}

type Body = Record<string, unknown> | null;
type Handler = (controls: SimulatorControls, body: Body) => unknown;

const FAULTS: readonly (AttestationFault | null)[] = ['bad-signature', 'server-error', 'unavailable', null];

/** stateOf is what `GET /control/state` reports. */
export function stateOf(controls: SimulatorControls): Record<string, unknown> {
  return { release: controls.release, hpkePublicKey: controls.hpkePublicKey, behaviour: controls.behaviour };
}

function fault(body: Body): AttestationFault | null {
  const value = body?.fault ?? null;
  if (!FAULTS.includes(value as AttestationFault | null)) throw new RangeError('fault must be bad-signature, server-error, unavailable or null');
  return value as AttestationFault | null;
}

function numberOrUndefined(body: Body, name: string): number | undefined {
  const value = body?.[name];
  if (value !== undefined && typeof value !== 'number') throw new RangeError(`${name} must be a number`);
  return value;
}

function numbers<K extends string>(body: Body, names: readonly K[]): Partial<Record<K, number>> {
  return Object.fromEntries(names.map((n) => [n, numberOrUndefined(body, n)]).filter(([, v]) => v !== undefined)) as Partial<Record<K, number>>;
}

function text(body: Body): string | null {
  const value = body?.text;
  if (value !== null && typeof value !== 'string') throw new RangeError('text must be a string or null');
  return value;
}

/** routerError reads the router-error settings; `{status: null}` (or no body) switches the fault off. */
function routerError(body: Body): RouterErrorSettings | null {
  if (body === null || body.status === null) return null;
  const status = numberOrUndefined(body, 'status');
  if (status === undefined) throw new RangeError('status must be a number or null');
  const kind = body.body ?? 'openai';
  if (kind !== 'openai' && kind !== 'text') throw new RangeError('body must be openai or text');
  const forKey = body.forKey;
  if (forKey !== undefined && (typeof forKey !== 'string' || forKey === '')) throw new RangeError('forKey must be a non-empty string');
  return { status, body: kind, ...numbers(body, ['retryAfterSeconds', 'bodyBytes', 'times']), ...(forKey === undefined ? {} : { forKey }) };
}

function releaseSpec(body: Body): ReleaseSpec {
  const digest = body?.releaseDigest;
  const measurement = body?.measurement;
  if (digest !== undefined && typeof digest !== 'string') throw new RangeError('releaseDigest must be a string');
  if (measurement !== undefined && !(Array.isArray(measurement) && measurement.every((r) => typeof r === 'string'))) {
    throw new RangeError('measurement must be an array of strings');
  }
  return { ...(digest === undefined ? {} : { releaseDigest: digest }), ...(measurement === undefined ? {} : { measurement }) };
}

const HANDLERS: Readonly<Record<string, Handler>> = {
  'GET /control/state': (c) => stateOf(c),
  'POST /control/release': (c, b) => ({ release: c.switchRelease(releaseSpec(b)) }),
  'POST /control/attestation': (c, b) => {
    c.breakAttestation(fault(b));
  },
  'POST /control/rotate-key': async (c) => ({ hpkePublicKey: await c.rotateKey() }),
  'POST /control/slow': (c, b) => {
    c.slowResponses(numbers(b, ['firstByteMs', 'chunkMs']));
  },
  'POST /control/cut': (c, b) => {
    const afterChunks = b?.afterChunks === null ? undefined : numberOrUndefined(b, 'afterChunks');
    c.cutResponses(afterChunks === undefined ? null : { afterChunks });
  },
  'POST /control/truncate': (c, b) => {
    const afterChunks = b?.afterChunks === null ? undefined : numberOrUndefined(b, 'afterChunks');
    c.truncateResponses(afterChunks === undefined ? null : { afterChunks });
  },
  'POST /control/plaintext': (c, b) => {
    c.answerInPlaintext(b?.enabled === true);
  },
  'POST /control/completion': (c, b) => {
    c.setCompletionText(text(b), typeof b?.model === 'string' ? b.model : undefined);
  },
  'POST /control/usage': (c, b) => {
    c.setUsage(b === null ? null : numbers(b, ['promptTokens', 'completionTokens', 'cachedTokens']));
  },
  'POST /control/router-error': (c, b) => {
    c.rejectAtRouter(routerError(b));
  },
  'GET /control/requests': (c) => ({ requests: c.requests() }),
  'DELETE /control/requests': (c) => {
    c.clearRequests();
  },
  'POST /control/reset': (c) => {
    c.reset();
  },
};

function parseBody(raw: Buffer): Body {
  if (raw.length === 0) return null;
  const value: unknown = JSON.parse(raw.toString('utf8'));
  if (value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw new RangeError('the body must be a JSON object or null');
  return value as Record<string, unknown>;
}

/** control runs one control call. */
export async function control(controls: SimulatorControls, method: string, path: string, raw: Buffer): Promise<ControlAnswer> {
  const handler = HANDLERS[`${method} ${path}`];
  if (handler === undefined) return { status: 404, body: { error: `no control ${method} ${path}` } };
  try {
    const result = await handler(controls, parseBody(raw));
    return { status: 200, body: result ?? stateOf(controls) };
  } catch (error) {
    // Bad JSON or out-of-range values: the caller's mistake, named in the answer.
    return { status: 400, body: { error: error instanceof Error ? error.message : String(error) } };
  }
}
