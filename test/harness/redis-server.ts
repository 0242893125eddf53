import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startProcess, waitFor, type ManagedProcess } from './processes.ts';

const REDIS_SERVER = process.env.AIO_REDIS_SERVER ?? '/usr/bin/redis-server';

/** RedisServer is a throwaway redis-server on a loopback port, without persistence. */
export interface RedisServer {
  readonly port: number;
  /** url is `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** tlsUrl is `rediss://127.0.0.1:<tls port>` when started with `tls`. */
  readonly tlsUrl?: string;
  readonly dir: string;
  /** stop stops the server (its data is gone: nothing is saved). */
  stop(): Promise<void>;
  /** start starts it again on the same port, empty. */
  start(): Promise<void>;
  /** close stops it and removes its folder. */
  close(): Promise<void>;
}

/** ping sends one inline PING and resolves with the first line of the answer (`+PONG`, or `-NOAUTH …`). */
function ping(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    socket.setTimeout(1000, () => socket.destroy(new Error('no answer to PING')));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      if (answer.includes('\r\n')) {
        socket.end();
        resolve(answer.split('\r\n')[0] ?? '');
      }
    });
    socket.on('error', reject);
  });
}

/** RedisServerOptions: a password for the default user, further configuration directives (e.g. `--user …`), and a TLS port. */
export interface RedisServerOptions {
  readonly password?: string;
  readonly args?: readonly string[];
  readonly tls?: { readonly certFile: string; readonly keyFile: string; readonly caFile: string };
}

/**
 * startRedisServer runs the Debian redis-server on a free loopback port with nothing saved
 * (`--save '' --appendonly no`) in a folder of its own, tethered to this process like every other
 * harness process, and resolves once it answers PING.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'aio-redis-'));
  const port = await freePort();
  // redis-server writes its own log file: its last lines at shutdown would otherwise race the harness closing the pipe's log.
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', join(dir, 'redis-server.log')];
  if (options.password !== undefined) args.push('--requirepass', options.password);
  const tlsPort = options.tls === undefined ? undefined : await freePort();
  if (options.tls !== undefined) {
    // Clients are not asked for certificates: the tests check the server's, as a client does.
    args.push('--tls-port', String(tlsPort), '--tls-cert-file', options.tls.certFile, '--tls-key-file', options.tls.keyFile, '--tls-ca-cert-file', options.tls.caFile, '--tls-auth-clients', 'no');
  }
  args.push(...(options.args ?? []));
  let running: ManagedProcess | undefined;
  const start = async (): Promise<void> => {
    const started = startProcess('redis-server', REDIS_SERVER, args, join(dir, 'redis-stdio.log'));
    running = started;
    await waitFor('redis-server to answer PING', async () => /^(\+PONG|-NOAUTH)/.test(await ping(port)), { timeoutMs: 10_000, process: started, intervalMs: 20 });
  };
  const stop = async (): Promise<void> => {
    await running?.stop(5000);
    running = undefined;
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${String(port)}`,
    ...(tlsPort === undefined ? {} : { tlsUrl: `rediss://127.0.0.1:${String(tlsPort)}` }),
    dir,
    start,
    stop,
    async close(): Promise<void> {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
