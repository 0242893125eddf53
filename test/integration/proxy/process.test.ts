import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { freePort, waitFor } from '../../harness/processes.ts';
import { simulatorConfig } from '../../harness/test-proxy.ts';

const MAIN = fileURLToPath(new URL('../../../proxy/main.ts', import.meta.url));

describe('the proxy as a process', () => {
  let simulator: EnclaveSimulator;
  let dir: string;
  let child: ChildProcess;
  let output = '';
  let apiUrl: string;
  let adminUrl: string;

  beforeAll(async () => {
    simulator = await startEnclaveSimulator();
    dir = await mkdtemp(join(tmpdir(), 'aio-proxy-process-'));
    const [apiPort, adminPort] = await Promise.all([freePort(), freePort()]);
    apiUrl = `http://127.0.0.1:${String(apiPort)}`;
    adminUrl = `http://127.0.0.1:${String(adminPort)}`;
    await writeFile(join(dir, 'api-key'), 'sk-first-key');
    const config = simulatorConfig(simulator, { provider: { apiKeyFile: join(dir, 'api-key') }, listen: { host: '127.0.0.1', port: apiPort }, admin: { host: '127.0.0.1', port: adminPort } });
    await writeFile(join(dir, 'proxy.yaml'), stringify(config));
    child = spawn(process.execPath, [MAIN, '--config', join(dir, 'proxy.yaml')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AIO_ALLOW_DEVELOPMENT_TRUST: 'true' } });
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    await waitFor('the proxy to be ready', async () => (await fetch(`${adminUrl}/readyz`)).ok, { timeoutMs: 20_000, intervalMs: 100 });
  });
  afterAll(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await simulator.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses to start a development-trust configuration without the explicit opt-in, naming it', async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'AIO_ALLOW_DEVELOPMENT_TRUST'));
    const refused = spawn(process.execPath, [MAIN, '--config', join(dir, 'proxy.yaml')], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let text = '';
    refused.stderr.on('data', (c: Buffer) => (text += c.toString()));
    const [code] = (await once(refused, 'exit')) as [number];
    expect(code).toBe(1);
    expect(text).toContain('attestation.trust Development needs the explicit opt-in AIO_ALLOW_DEVELOPMENT_TRUST=true');
  });

  it('picks up a rotated provider key without a restart and without failing a request', async () => {
    const client = new OpenAI({ baseURL: `${apiUrl}/v1`, apiKey: 'x', maxRetries: 0 });
    await waitFor('attestation', async () => ((await (await fetch(`${adminUrl}/admin/attestation`)).json()) as { status: string }).status === 'verified', { timeoutMs: 10_000 });
    await client.chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'x' }] });
    await writeFile(join(dir, 'api-key.new'), 'sk-second-key');
    await rename(join(dir, 'api-key.new'), join(dir, 'api-key'));
    const seen = (): (string | undefined)[] => simulator.requests().filter((r) => r.path === '/v1/chat/completions').map((r) => r.headers.authorization);
    await waitFor('the new key to be used', async () => {
      await client.chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'x' }] });
      return seen().at(-1) === 'Bearer sk-second-key';
    }, { timeoutMs: 15_000, intervalMs: 100 });
    expect(seen()[0]).toBe('Bearer sk-first-key');
    expect(simulator.requests().every((r) => r.status === undefined || r.status < 400)).toBe(true);
  });

  it('finishes an in-flight stream on SIGTERM, then exits 0', async () => {
    simulator.slowResponses({ chunkMs: 100 });
    const response = await fetch(`${apiUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'a b' }], stream: true }) });
    const text = response.text();
    await new Promise((r) => setTimeout(r, 150));
    child.kill('SIGTERM');
    expect(await text).toContain('data: [DONE]');
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
    expect(output).toContain('"msg":"draining"');
    expect(output).not.toContain('sk-second-key');
  });
});
