import { Agent, request, type IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { CHAT_PATH, type PreparedRequest } from './payloads.ts';

/**
 * A small streaming client: sends streamed chat requests over keep-alive connections and times
 * each answer: time to the first body byte (the first SSE event or EHBP frame: the first token's
 * envelope) and the time from there to the end of the stream.
 */

/** StreamSample is one stream's timing, in milliseconds. */
export interface StreamSample {
  readonly ttfbMs: number;
  readonly bodyMs: number;
}

/** StreamRun is a bounded set of streams sent with fixed concurrency. */
export interface StreamRun {
  readonly url: string;
  readonly concurrency: number;
  /** requests are sent in order, one per stream. */
  readonly requests: readonly PreparedRequest[];
  readonly timeoutMs: number;
}

/** StreamResult is what one run measured. */
export interface StreamResult {
  readonly samples: StreamSample[];
  readonly errors: number;
  readonly elapsedMs: number;
}

function oneStream(agent: Agent, base: URL, prepared: PreparedRequest, signal: AbortSignal): Promise<StreamSample> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let first: number | undefined;
    const req = request(new URL(CHAT_PATH, base), { method: 'POST', agent, headers: { ...prepared.headers, 'content-length': String(prepared.body.length) }, signal }, (res: IncomingMessage) => {
      if ((res.statusCode ?? 0) !== 200) {
        res.resume();
        reject(new Error(`HTTP ${String(res.statusCode)}`));
        return;
      }
      res.on('data', () => {
        first ??= performance.now();
      });
      res.on('error', reject);
      res.on('end', () => {
        const end = performance.now();
        const firstAt = first ?? end;
        resolve({ ttfbMs: firstAt - started, bodyMs: end - firstAt });
      });
    });
    req.on('error', reject);
    req.end(prepared.body);
  });
}

/** runStreams sends every request of `run` and resolves with timings; failures are counted, not thrown. */
export async function runStreams(run: StreamRun): Promise<StreamResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: run.concurrency });
  const signal = AbortSignal.timeout(run.timeoutMs);
  const base = new URL(run.url);
  const samples: StreamSample[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < run.requests.length && !signal.aborted) {
      const prepared = run.requests[next++]!;
      try {
        samples.push(await oneStream(agent, base, prepared, signal));
      } catch {
        errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: run.concurrency }, worker));
  agent.destroy();
  return { samples, errors: errors + (run.requests.length - samples.length - errors), elapsedMs: performance.now() - started };
}
