import { request, type ClientRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { startProxy, type Upstream } from './children.ts';
import { readImageSizes } from './image-sizes.ts';
import { runLoad } from './load.ts';
import type { BenchOptions } from './options.ts';
import { CHAT_PATH, chatBody, plainRequest, streamBody } from './payloads.ts';
import type { Footprint } from './results.ts';

/**
 * Sidecar footprint of a fresh encrypting proxy: time to `/readyz` (and to a verified attestation,
 * served by the local simulator), resident memory idle, after a batch of requests, and while many
 * slow streams are open at once; and the sizes of the images the last `hack/images.sh` run here
 * built (it records them in its cache), which the benchmark does not build itself.
 */

const MIB = 1024 * 1024;
const SETTLE_MS = 500;
const OPEN_TIMEOUT_MS = 20_000;
/** SLOW_CHUNK_MS keeps each stream open for 200 × 100 ms, longer than the sample takes. */
const SLOW_CHUNK_MS = 100;

async function control(upstream: Upstream, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${upstream.url}/control/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`simulator control ${path} answered HTTP ${response.status}`);
}

/** openStreams starts `count` streams and resolves with how many delivered their first byte in time. */
async function openStreams(url: string, count: number, requests: ClientRequest[]): Promise<number> {
  const body = streamBody();
  let reached = 0;
  const opened = Array.from({ length: count }, () => new Promise<void>((resolve) => {
    const req = request(new URL(CHAT_PATH, url), { method: 'POST', agent: false, headers: { ...plainRequest(body).headers, 'content-length': String(body.length) } }, (res) => {
      res.once('data', () => {
        reached += 1;
        resolve();
      });
      res.on('error', () => resolve());
      res.on('end', () => resolve());
    });
    req.on('error', () => resolve());
    req.end(body);
    requests.push(req);
  }));
  await Promise.race([Promise.all(opened), sleep(OPEN_TIMEOUT_MS)]);
  return reached;
}

/** measureFootprint starts its own proxy and stops it before returning. */
export async function measureFootprint(upstream: Upstream, dir: string, options: BenchOptions): Promise<Footprint> {
  const proxy = await startProxy('tinfoil', upstream, dir);
  const streams: ClientRequest[] = [];
  try {
    await sleep(SETTLE_MS);
    const idle = await proxy.probe();
    const load = await runLoad({ url: proxy.apiUrl, connections: 16, amount: options.footprintRequests, requests: [plainRequest(chatBody(1024))], timeoutMs: options.runTimeoutMs });
    await sleep(SETTLE_MS);
    const afterRequests = await proxy.probe();
    await control(upstream, 'slow', { chunkMs: SLOW_CHUNK_MS });
    const reached = await openStreams(proxy.apiUrl, options.openStreams, streams);
    await sleep(SETTLE_MS);
    const withStreams = await proxy.probe();
    return {
      readyMs: proxy.readyMs,
      attestedMs: proxy.attestedMs,
      idleRssMiB: idle.rssBytes / MIB,
      afterRequestsRssMiB: afterRequests.rssBytes / MIB,
      afterRequests: load.completed,
      openStreamsRssMiB: withStreams.rssBytes / MIB,
      openStreams: options.openStreams,
      openStreamsReached: reached,
      heapUsedMiB: [idle, afterRequests, withStreams].map((sample) => sample.heapUsedBytes / MIB),
      images: readImageSizes(),
      errors: load.errors + (options.openStreams - reached),
    };
  } finally {
    for (const req of streams) req.destroy();
    await control(upstream, 'slow', {}).catch(() => undefined);
    await proxy.stop();
  }
}
