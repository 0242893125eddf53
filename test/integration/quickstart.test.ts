import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../harness/commands.ts';
import { waitFor } from '../harness/processes.ts';
import { metricValue } from '../harness/test-proxy.ts';

const QUICKSTART = fileURLToPath(new URL('../../hack/quickstart.ts', import.meta.url));

describe('the quickstart (npm start)', () => {
  it('serves the openai SDK through an attested proxy, shows the tokens on /metrics, and cleans up on Ctrl-C', async () => {
    const child = spawn(process.execPath, [QUICKSTART], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    await waitFor('the quickstart to be ready', () => Promise.resolve(out.includes('✔ ready')), { timeoutMs: 120_000, intervalMs: 250 });
    const baseURL = /OpenAI base URL\s+(\S+)/.exec(out)?.[1];
    const metricsUrl = /metrics\s+(\S+\/metrics)/.exec(out)?.[1];
    const workDir = /\/tmp\/aio-control-plane-[A-Za-z0-9]+/.exec(out)?.[0];
    expect(baseURL).toBeDefined();
    const client = new OpenAI({ baseURL, apiKey: 'unused-locally', maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'Hello from the quickstart' }] });
    expect(completion.choices[0]?.message.content).toContain('enclave simulator');
    const metrics = await (await fetch(metricsUrl!)).text();
    expect(metricValue(metrics, 'attested_inference_tokens_total', { token_type: 'output' })).toBe(completion.usage?.completion_tokens);
    expect(metricValue(metrics, 'attested_inference_attestation_up')).toBe(1);

    child.kill('SIGINT');
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
    const left = await runCommand('pgrep', ['-af', workDir!.split('/').pop()!]);
    expect(left.stdout.split('\n').filter((l) => l !== '' && !l.includes('pgrep'))).toEqual([]);
  });
});
