import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROTOCOL } from 'ehbp';
import type { ResponseSealer } from './ehbp.ts';
import { usageMetricsValue, type SimulatedResponse } from './reply.ts';
import type { Behaviour } from './state.ts';

/**
 * Writing an answer: encrypted frame by frame when the request was (EHBP), one frame per SSE
 * event and flushed as produced, with Tinfoil's usage metrics as a header (documents) or an HTTP
 * trailer (streams), and the simulated faults: delays, connection resets and clean truncations.
 */

/** USAGE_METRICS_REQUEST_HEADER asks Tinfoil's router to report usage. */
export const USAGE_METRICS_REQUEST_HEADER = 'x-tinfoil-request-usage-metrics';
/** USAGE_METRICS_HEADER carries the usage, as a header or a trailer; it is never encrypted. */
export const USAGE_METRICS_HEADER = 'X-Tinfoil-Usage-Metrics';
/** CUT_GRACE_MS lets the peer read what was sent before the reset discards its receive queue. */
const CUT_GRACE_MS = 25;

/** SendOptions says how to write one answer. */
export interface SendOptions {
  /** sealer encrypts the body; absent, the body is plaintext. */
  readonly sealer: ResponseSealer | undefined;
  /** metrics tells whether the request asked for `X-Tinfoil-Usage-Metrics`. */
  readonly metrics: boolean;
  readonly behaviour: Behaviour;
}

function writeAsync(res: ServerResponse, chunk: Uint8Array | string): Promise<void> {
  return new Promise((resolve, reject) => {
    res.write(chunk, (error) => {
      if (error) reject(error);
      else resolve();
    });
  });
}

async function pause(ms: number): Promise<void> {
  if (ms > 0) await sleep(ms);
}

async function cut(res: ServerResponse): Promise<void> {
  await pause(CUT_GRACE_MS);
  // A TCP reset, not a clean close: the client sees ECONNRESET mid-body, as when an enclave dies.
  res.socket?.resetAndDestroy();
}

function headersFor(answer: SimulatedResponse, options: SendOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  if (options.sealer !== undefined) headers[PROTOCOL.RESPONSE_NONCE_HEADER] = options.sealer.nonceHex;
  if (answer.kind === 'stream') {
    headers['content-type'] = 'text/event-stream; charset=utf-8';
    headers['cache-control'] = 'no-cache';
    if (options.metrics) headers.trailer = USAGE_METRICS_HEADER;
  } else {
    headers['content-type'] = answer.contentType;
    if (options.metrics && answer.usage !== undefined) headers[USAGE_METRICS_HEADER] = usageMetricsValue(answer.usage);
  }
  return headers;
}

/**
 * sendTruncatedDocument sends the first half of a document and ends cleanly, with no length to
 * betray it (chunked): in plaintext the bytes, sealed one whole frame of them, or nothing at all
 * with `afterChunks: 0`. The framing is valid, so only the content can tell the answer is short.
 */
async function sendTruncatedDocument(res: ServerResponse, answer: Extract<SimulatedResponse, { kind: 'document' }>, options: SendOptions, afterChunks: number): Promise<void> {
  const half = Buffer.from(answer.body, 'utf8').subarray(0, Math.floor(Buffer.byteLength(answer.body) / 2));
  res.writeHead(answer.status, headersFor(answer, options));
  if (afterChunks > 0 && half.length > 0) await writeAsync(res, options.sealer === undefined ? half : await options.sealer.seal(half));
  res.end();
}

async function sendDocument(res: ServerResponse, answer: Extract<SimulatedResponse, { kind: 'document' }>, options: SendOptions): Promise<void> {
  const truncate = options.behaviour.truncate;
  if (truncate !== null) {
    await sendTruncatedDocument(res, answer, options, truncate.afterChunks);
    return;
  }
  const plain = Buffer.from(answer.body, 'utf8');
  const payload = options.sealer === undefined ? plain : await options.sealer.seal(plain);
  const headers = headersFor(answer, options);
  // EHBP responses use chunked transfer encoding (SPEC.md §5.2); plaintext ones may state their length.
  if (options.sealer === undefined) headers['content-length'] = String(payload.length);
  res.writeHead(answer.status, headers);
  if (options.behaviour.cut === null) {
    res.end(payload);
    return;
  }
  await writeAsync(res, payload.subarray(0, Math.floor(payload.length / 2)));
  await cut(res);
}

async function sendStream(res: ServerResponse, answer: Extract<SimulatedResponse, { kind: 'stream' }>, options: SendOptions): Promise<void> {
  const { slow, cut: cutting, truncate } = options.behaviour;
  res.writeHead(200, headersFor(answer, options));
  res.flushHeaders();
  for (const [index, event] of answer.events.entries()) {
    if (index > 0) await pause(slow.chunkMs);
    if (cutting !== null && index >= cutting.afterChunks) {
      await cut(res);
      return;
    }
    if (truncate !== null && index >= truncate.afterChunks) break;
    if (res.destroyed) return; // the client went away; stop producing
    const plain = Buffer.from(event, 'utf8');
    await writeAsync(res, options.sealer === undefined ? plain : await options.sealer.seal(plain));
  }
  if (cutting !== null) {
    await cut(res);
    return;
  }
  // A truncated stream ends cleanly after whole events (whole frames), without its usage trailer.
  if (options.metrics && truncate === null) res.addTrailers({ [USAGE_METRICS_HEADER]: usageMetricsValue(answer.usage) });
  res.end();
}

/** send writes `answer` after the configured first-byte delay. */
export async function send(res: ServerResponse, answer: SimulatedResponse, options: SendOptions): Promise<void> {
  await pause(options.behaviour.slow.firstByteMs);
  if (res.destroyed) return;
  if (answer.kind === 'stream') await sendStream(res, answer, options);
  else await sendDocument(res, answer, options);
}
