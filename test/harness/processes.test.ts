import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, startProcess, waitFor } from './processes.ts';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('harness processes', () => {
  let dir = '';
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('logs output to a file and stops the whole process group', async () => {
    dir = await mkdtemp(join(tmpdir(), 'proc-'));
    const p = startProcess('sleeper', 'bash', ['-c', 'echo started; sleep 60 & wait'], join(dir, 'log'));
    await waitFor('output', async () => (await readFile(p.logFile, 'utf8')).includes('started'), { timeoutMs: 5000 });
    await p.stop(2000);
    expect(p.exited()).toBe(true);
    expect(alive(p.child.pid!)).toBe(false);
  });

  it('kills its child when the parent dies without cleaning up (SIGKILL)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'proc-'));
    const pidFile = join(dir, 'pid');
    const script = `
      import { startProcess } from ${JSON.stringify(new URL('./processes.ts', import.meta.url).pathname)};
      startProcess('child', 'bash', ['-c', 'echo $$ > ${pidFile}; exec sleep 60'], '${join(dir, 'log')}');
      setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
    let childPid = 0;
    await waitFor('the child pid', async () => {
      childPid = Number(await readFile(pidFile, 'utf8'));
      return childPid > 0;
    }, { timeoutMs: 10_000 });
    expect(alive(childPid)).toBe(true);
    parent.kill('SIGKILL');
    await once(parent, 'exit');
    await waitFor('the orphan to be killed', () => Promise.resolve(!alive(childPid)), { timeoutMs: 5000 });
  });

  it('reports a process that exits while being waited for', async () => {
    dir = await mkdtemp(join(tmpdir(), 'proc-'));
    const p = startProcess('quitter', 'bash', ['-c', 'exit 3'], join(dir, 'log'));
    await expect(waitFor('never', () => Promise.resolve(false), { timeoutMs: 5000, process: p })).rejects.toThrow(/quitter exited while waiting for never/);
    await p.stop();
  });

  it('names what it waited for on timeout', async () => {
    await expect(waitFor('the moon', () => Promise.reject(new Error('not yet')), { timeoutMs: 200 })).rejects.toThrow(/timed out after 200 ms waiting for the moon: not yet/);
  });

  it('finds a port nobody listens on', async () => {
    const port = await freePort();
    const server = createServer().listen(port, '127.0.0.1');
    await once(server, 'listening');
    server.close();
    expect(port).toBeGreaterThan(0);
  });
});
