import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

/** ManagedProcess is a child started by the harness, logging to a file, tethered to this process. */
export interface ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  /** stop sends SIGTERM to the whole process group, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  exited(): boolean;
}

// The tether runs the command in the background and kills it when the parent (this Node process)
// disappears, so a test runner killed with SIGKILL leaves no etcd or API server behind.
const TETHER = `parent=$1; shift
"$@" & child=$!
trap 'kill -TERM $child 2>/dev/null; wait $child; exit' TERM INT
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 1; done
kill -TERM $child 2>/dev/null; wait $child`;

const live = new Set<ManagedProcess>();

function killAllSync(): void {
  for (const p of live) {
    try {
      if (p.child.pid !== undefined) process.kill(-p.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.once('exit', killAllSync);

/** startProcess spawns `command` with `args`, appending stdout and stderr to `logFile`. */
export function startProcess(name: string, command: string, args: readonly string[], logFile: string): ManagedProcess {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn('bash', ['-c', TETHER, 'tether', String(process.pid), command, ...args], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let done = false;
  const exit = once(child, 'exit').then(() => {
    done = true;
  });
  const managed: ManagedProcess = {
    name,
    logFile,
    child,
    exited: () => done,
    async stop(graceMs = 10_000): Promise<void> {
      if (!done && child.pid !== undefined) {
        signalGroup(child.pid, 'SIGTERM');
        const timedOut = await Promise.race([exit.then(() => false), sleep(graceMs).then(() => true)]);
        if (timedOut) signalGroup(child.pid, 'SIGKILL');
        await exit;
      }
      live.delete(managed);
      log.end();
    },
  };
  live.add(managed);
  return managed;
}

/** signalGroup signals a process group (a detached child and its children), if it still exists. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}

/** freePort asks the kernel for an unused loopback TCP port. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port assigned');
  return address.port;
}

/** waitFor polls `check` until it returns true, failing with `what` and the process's fate after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  options: { timeoutMs: number; process?: ManagedProcess; intervalMs?: number },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (options.process?.exited() === true) {
      throw new Error(`${options.process.name} exited while waiting for ${what}; see ${options.process.logFile}`);
    }
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await sleep(options.intervalMs ?? 100);
  }
  const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
  const log = options.process ? `; see ${options.process.logFile}` : '';
  throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}${detail}${log}`);
}
