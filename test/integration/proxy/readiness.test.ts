import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { waitFor } from '../../harness/processes.ts';
import { simulatorConfig, startTestProxy, type TestProxy } from '../../harness/test-proxy.ts';

// docs/adr/0013: /readyz waits for the first verification of the upstream, bounded by
// attestation.firstVerificationWindowSeconds; once verified, a failed recheck keeps it ready
// (docs/adr/0001). Attacks: a rollout's new pod (or a sidecar's app) taking traffic before its
// proxy verified, and a blip of the attestation service emptying the Service.

async function probe(proxy: TestProxy, path: '/readyz' | '/healthz'): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${proxy.adminUrl}${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function chatError(proxy: TestProxy): Promise<{ status: number; code: string; message: string }> {
  const client = new OpenAI({ baseURL: `${proxy.apiUrl}/v1`, apiKey: 'x', maxRetries: 0 });
  try {
    await client.chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'secret prompt' }] });
  } catch (error) {
    const e = error as { status: number; code: string; message: string };
    return { status: e.status, code: e.code, message: e.message };
  }
  throw new Error('the call succeeded');
}

const inferenceTraffic = (simulator: EnclaveSimulator): number => simulator.requests().filter((r) => r.path.startsWith('/v1/')).length;

/** hangingServer accepts connections on loopback and never answers: an attestation service that hangs. */
async function hangingServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => sockets.push(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

describe('readiness waits for the first verification', () => {
  let simulator: EnclaveSimulator | undefined;
  let proxy: TestProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    await simulator?.close();
    proxy = undefined;
    simulator = undefined;
  });

  it('is not ready while the first verification fails (a 503 blip), and ready as soon as it succeeds', async () => {
    simulator = await startEnclaveSimulator();
    simulator.breakAttestation('unavailable');
    proxy = await startTestProxy(simulatorConfig(simulator, { attestation: { firstVerificationWindowSeconds: 60 } }));
    expect(proxy.runtime.provider.attestation().status).toBe('failed');
    // Unready through several failed fetches, but alive: liveness must not restart it.
    for (let i = 0; i < 3; i++) {
      expect(await probe(proxy, '/readyz')).toEqual({ status: 503, body: { status: 'verifying', reason: 'AwaitingFirstVerification' } });
      expect((await probe(proxy, '/healthz')).status).toBe(200);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(simulator.requests().filter((r) => r.path === '/attestation').length).toBeGreaterThanOrEqual(2);
    // A caller that reaches it anyway (a port-forward, a pod IP) gets the clear error, nothing is sent.
    expect(await chatError(proxy)).toMatchObject({ status: 503, code: 'attestation_failed' });
    expect(inferenceTraffic(simulator)).toBe(0);

    simulator.breakAttestation(null);
    const p = proxy;
    await waitFor('/readyz 200 after the blip', async () => (await probe(p, '/readyz')).status === 200, { timeoutMs: 15_000, intervalMs: 100 });
    expect(await probe(proxy, '/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
    expect(proxy.runtime.provider.attestation().status).toBe('verified');
    expect(proxy.logs().some((l) => l.includes('"reason":"Verified"') && l.includes('"msg":"readiness"'))).toBe(true);
  });

  it('turns ready once the window passed without a verification, and answers 503 attestation_failed', async () => {
    simulator = await startEnclaveSimulator();
    simulator.breakAttestation('unavailable');
    const started = Date.now();
    proxy = await startTestProxy(simulatorConfig(simulator, { attestation: { firstVerificationWindowSeconds: 2 } }));
    expect((await probe(proxy, '/readyz')).status).toBe(503);
    const p = proxy;
    await waitFor('/readyz 200 after the window', async () => (await probe(p, '/readyz')).status === 200, { timeoutMs: 10_000, intervalMs: 100 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    const error = await chatError(proxy);
    expect(error).toMatchObject({ status: 503, code: 'attestation_failed' });
    expect(error.message).toContain('503');
    expect(inferenceTraffic(simulator)).toBe(0);
    expect(proxy.logs().some((l) => l.includes('"reason":"WindowElapsed"') && l.includes('"level":"warn"'))).toBe(true);
  });

  it('turns ready once the window passed while the attestation service hangs, and answers 503 attestation_pending', async () => {
    simulator = await startEnclaveSimulator();
    const hanging = await hangingServer();
    onTestFinished(() => hanging.close());
    proxy = await startTestProxy(simulatorConfig(simulator, { attestation: { bundleUrl: hanging.url, firstVerificationWindowSeconds: 1 } }), { waitForAttestation: false });
    expect(proxy.runtime.provider.attestation().status).toBe('pending');
    expect((await probe(proxy, '/readyz')).body).toEqual({ status: 'verifying', reason: 'AwaitingFirstVerification' });
    const p = proxy;
    await waitFor('/readyz 200 after the window', async () => (await probe(p, '/readyz')).status === 200, { timeoutMs: 10_000, intervalMs: 100 });
    expect(proxy.runtime.provider.attestation().status).toBe('pending');
    expect(await chatError(proxy)).toMatchObject({ status: 503, code: 'attestation_pending' });
    expect(inferenceTraffic(simulator)).toBe(0);
  });

  it('stays ready when a recheck of a verified upstream fails: callers get attestation_failed, the Service keeps the pod', async () => {
    simulator = await startEnclaveSimulator();
    proxy = await startTestProxy(simulatorConfig(simulator, { attestation: { recheckIntervalSeconds: 10, firstVerificationWindowSeconds: 60 } }));
    expect((await probe(proxy, '/readyz')).status).toBe(200);
    simulator.breakAttestation('bad-signature');
    const p = proxy;
    await waitFor('the recheck to fail', () => Promise.resolve(p.runtime.provider.attestation().status === 'failed'), { timeoutMs: 30_000, intervalMs: 200 });
    expect(await probe(proxy, '/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
    expect((await chatError(proxy)).code).toBe('attestation_failed');
  });

  it('is ready at once for an upstream with nothing to verify (openai-compatible)', async () => {
    simulator = await startEnclaveSimulator();
    proxy = await startTestProxy(simulatorConfig(simulator, {
      provider: { type: 'openai-compatible', upstreamUrl: simulator.url, acknowledgeUnattested: true },
      attestation: { firstVerificationWindowSeconds: 3600 },
    }));
    expect(await probe(proxy, '/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
  });

  it('is not ready while draining, even once verified', async () => {
    simulator = await startEnclaveSimulator();
    proxy = await startTestProxy({ ...simulatorConfig(simulator), shutdownDrainSeconds: 1 });
    expect((await probe(proxy, '/readyz')).status).toBe(200);
    const { adminUrl } = proxy;
    const closing = proxy.close();
    proxy = undefined;
    await new Promise((r) => setTimeout(r, 200));
    // The admin listener stays up through the drain; the route itself answers draining.
    const response = await fetch(`${adminUrl}/readyz`);
    expect([response.status, await response.json()]).toEqual([503, { status: 'draining' }]);
    await closing;
  });
});
