import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../../harness/commands.ts';
import { waitFor } from '../../harness/processes.ts';
import { etcdDataDir } from '../../harness/control-plane.ts';

const CLI = fileURLToPath(new URL('../../../hack/control-plane.ts', import.meta.url));

async function startCli(): Promise<{ child: ChildProcess; workDir: string }> {
  const child = spawn(process.execPath, [CLI], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await waitFor('the control plane CLI to be ready', () => Promise.resolve(out.includes('ready;')), { timeoutMs: 120_000, intervalMs: 200 });
  const workDir = /work folder: (\S+)/.exec(out)?.[1];
  if (workDir === undefined) throw new Error(`no work folder in output: ${out}`);
  return { child, workDir };
}

async function processesUsing(workDir: string): Promise<string> {
  return (await runCommand('pgrep', ['-af', basename(workDir)])).stdout.split('\n').filter((l) => l !== '' && !l.includes('pgrep')).join('\n');
}

describe('control plane lifecycle', () => {
  it('stops every process and removes its folder on Ctrl-C', async () => {
    const { child, workDir } = await startCli();
    const running = await processesUsing(workDir);
    for (const component of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok']) expect(running).toContain(component);
    child.kill('SIGINT');
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
    expect(await processesUsing(workDir)).toBe('');
    expect(existsSync(workDir)).toBe(false);
    expect(existsSync(etcdDataDir(workDir))).toBe(false);
  });

  it('leaves no process behind when the runner is killed outright', async () => {
    const { child, workDir } = await startCli();
    child.kill('SIGKILL');
    await once(child, 'exit');
    await waitFor('tethered processes to exit', async () => (await processesUsing(workDir)) === '', { timeoutMs: 15_000, intervalMs: 250 });
    // A killed runner cannot remove its folders; the test does.
    await rm(workDir, { recursive: true, force: true });
    await rm(etcdDataDir(workDir), { recursive: true, force: true });
  });
});
