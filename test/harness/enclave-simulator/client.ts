import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Identity, PROTOCOL, type RequestContext } from 'ehbp';

/**
 * A test client for the simulator built on `ehbp`'s own client primitives (not the proxy's), so
 * round trips check the simulator against an independent implementation. It uses node:http rather
 * than fetch because fetch does not expose HTTP trailers.
 */

/** SimulatorCall is one request to a simulator. */
export interface SimulatorCall {
  readonly method?: string;
  readonly path: string;
  readonly body?: string | Uint8Array;
  readonly headers?: Readonly<Record<string, string>>;
  /** encrypt seals the body with EHBP (default true); a bodyless request is never sealed. */
  readonly encrypt?: boolean;
  /** keyConfig is the key configuration to seal to; default the one the simulator serves now. */
  readonly keyConfig?: Uint8Array;
}

/** SimulatorReply is the answer, decrypted when it was encrypted. */
export interface SimulatorReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly trailers: Readonly<Record<string, string | undefined>>;
  /** encrypted tells whether the answer carried `Ehbp-Response-Nonce` (and was decrypted). */
  readonly encrypted: boolean;
  readonly body: string;
}

/** SimulatorCallError is a request whose answer broke off; `received` holds the raw bytes that arrived. */
export class SimulatorCallError extends Error {
  readonly received: Buffer;

  constructor(message: string, received: Buffer, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'SimulatorCallError';
    this.received = received;
  }
}

/** fetchKeyConfig reads the key configuration a simulator serves. */
export async function fetchKeyConfig(baseUrl: string): Promise<Uint8Array> {
  const response = await fetch(new URL(PROTOCOL.KEYS_PATH, baseUrl));
  if (response.headers.get('content-type') !== PROTOCOL.KEYS_MEDIA_TYPE) throw new Error(`unexpected key config type ${String(response.headers.get('content-type'))}`);
  return new Uint8Array(await response.arrayBuffer());
}

function exchange(url: URL, method: string, headers: Record<string, string>, body: Buffer): Promise<{ res: IncomingMessage; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const broke = (cause: unknown): void => {
      reject(new SimulatorCallError('the answer broke off', Buffer.concat(chunks), { cause }));
    };
    const req = httpRequest(url, { method, headers }, (res) => {
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('aborted', () => {
        broke(new Error('aborted'));
      });
      res.on('error', broke);
      res.on('end', () => {
        resolve({ res, body: Buffer.concat(chunks) });
      });
    });
    req.on('error', broke);
    req.end(body);
  });
}

async function decrypt(identity: Identity, context: RequestContext, res: IncomingMessage, body: Buffer): Promise<string> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') headers.set(name, value);
  const status = res.statusCode ?? 500;
  const decrypted = await identity.decryptResponseWithContext(new Response(body, { status, headers }), context);
  return decrypted.text();
}

/** callSimulator sends one request, EHBP-sealed unless told otherwise, and reads the whole answer. */
export async function callSimulator(baseUrl: string, call: SimulatorCall): Promise<SimulatorReply> {
  const url = new URL(call.path, baseUrl);
  const method = call.method ?? (call.body === undefined ? 'GET' : 'POST');
  const plain = new Request(url, { method, headers: call.headers, body: call.body });
  const seal = call.encrypt !== false && call.body !== undefined;
  const identity = seal ? await Identity.unmarshalPublicConfig(call.keyConfig ?? (await fetchKeyConfig(baseUrl))) : undefined;
  const sealed = identity === undefined ? { request: plain, context: null } : await identity.encryptRequestWithContext(plain);
  const headers = Object.fromEntries(sealed.request.headers);
  const { res, body } = await exchange(url, method, headers, Buffer.from(await sealed.request.arrayBuffer()));
  const encrypted = res.headers[PROTOCOL.RESPONSE_NONCE_HEADER.toLowerCase()] !== undefined;
  const text = encrypted && identity !== undefined && sealed.context !== null ? await decrypt(identity, sealed.context, res, body) : body.toString('utf8');
  return { status: res.statusCode ?? 0, headers: res.headers, trailers: res.trailers, encrypted, body: text };
}
