import { performance } from 'node:perf_hooks';
import autocannon, { type AutocannonRequest, type AutocannonResult } from 'autocannon';
import { CHAT_PATH, type PreparedRequest } from './payloads.ts';

/**
 * Non-streaming load with autocannon: a fixed number of requests over a fixed number of
 * keep-alive connections. Latencies come from autocannon's per-response event (fractional
 * milliseconds), since its own histogram keeps whole milliseconds only.
 */

/** LoadRun is one bounded autocannon run. */
export interface LoadRun {
  readonly url: string;
  readonly connections: number;
  readonly amount: number;
  /** requests are sent in order, each once; a single entry is sent every time. */
  readonly requests: readonly PreparedRequest[];
  readonly timeoutMs: number;
}

/** LoadResult is what one run measured. */
export interface LoadResult {
  readonly completed: number;
  /** errors counts socket errors, timeouts, non-2xx answers and requests left unsent at the time limit. */
  readonly errors: number;
  readonly elapsedMs: number;
  readonly latenciesMs: number[];
}

function templates(requests: readonly PreparedRequest[]): AutocannonRequest[] {
  if (requests.length === 1) {
    const only = requests[0]!;
    return [{ method: 'POST', path: CHAT_PATH, headers: only.headers, body: only.body }];
  }
  let next = 0;
  return [{
    method: 'POST',
    path: CHAT_PATH,
    setupRequest: (request) => {
      // Every connection builds one request ahead; past the pool's end, sealed bodies are reused.
      const prepared = requests[next++ % requests.length]!;
      return { ...request, headers: prepared.headers, body: prepared.body };
    },
  }];
}

/** runLoad runs autocannon once; it resolves (never rejects) with the errors counted. */
export function runLoad(run: LoadRun): Promise<LoadResult> {
  return new Promise((resolve) => {
    const latenciesMs: number[] = [];
    const started = performance.now();
    // autocannon notices the last response on its one-second tick; the run ends at the last response.
    let lastResponseAt = started;
    let responses = 0;
    const instance = autocannon(
      { url: run.url, connections: run.connections, amount: run.amount, timeout: Math.ceil(run.timeoutMs / 1000), requests: templates(run.requests) },
      (error: Error | null, result: AutocannonResult) => {
        clearTimeout(limit);
        const elapsedMs = lastResponseAt - started;
        const completed = latenciesMs.length;
        const failed = error === null ? result.errors + result.non2xx : run.amount;
        resolve({ completed, errors: Math.max(failed, run.amount - completed), elapsedMs, latenciesMs });
      },
    );
    instance.on('response', (_client: unknown, status: number, _bytes: number, responseTime: number) => {
      lastResponseAt = performance.now();
      responses += 1;
      if (responses >= run.amount) instance.stop();
      if (status >= 200 && status < 300) latenciesMs.push(responseTime);
    });
    const limit = setTimeout(() => {
      instance.stop();
    }, run.timeoutMs);
  });
}
