import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startProcess, type ManagedProcess } from '../test/harness/processes.ts';

/**
 * The optional nginx contender: Debian's nginx as a loopback reverse proxy with a keep-alive
 * upstream and `proxy_buffering off`, one worker (like the single Node process it is compared to).
 */

/** Nginx is a running nginx in front of the upstream. */
export interface Nginx {
  readonly url: string;
  readonly version: string;
  stop(): Promise<void>;
}

/** nginxVersion is the installed version, or undefined when nginx is not installed. */
export function nginxVersion(): string | undefined {
  const result = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  if (result.error !== undefined || result.status !== 0) return undefined;
  return result.stderr.trim().replace(/^nginx version: /, '');
}

function config(dir: string, port: number, upstreamHost: string): string {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${join(dir, `${t}-temp`)};`).join('\n');
  return `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'nginx-error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
${temp}
  # nginx closes a keep-alive connection after 1,000 requests by default, which a load generator
  # counts as an error; the upstream (Node) closes idle connections after 5 s, so nginx lets go first.
  keepalive_requests 1000000;
  upstream benchupstream { server ${upstreamHost}; keepalive 128; keepalive_requests 1000000; keepalive_timeout 2s; }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 64m;
    location / {
      proxy_pass http://benchupstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
    }
  }
}
`;
}

/** startNginx runs nginx in front of `upstreamUrl`, or returns undefined when it is not installed. */
export async function startNginx(dir: string, upstreamUrl: string): Promise<Nginx | undefined> {
  const version = nginxVersion();
  if (version === undefined) return undefined;
  const home = join(dir, 'nginx');
  mkdirSync(home, { recursive: true });
  const port = await freePort();
  const conf = join(home, 'nginx.conf');
  writeFileSync(conf, config(home, port, new URL(upstreamUrl).host));
  const managed: ManagedProcess = startProcess('nginx', 'nginx', ['-p', home, '-e', join(home, 'nginx-error.log'), '-c', conf], join(home, 'nginx.log'));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 500; i++) {
    if (managed.exited()) throw new Error(`nginx exited at start; see ${managed.logFile}`);
    if (await fetch(`${url}/v1/models`).then(() => true, () => false)) return { url, version, stop: () => managed.stop(5_000) };
    await sleep(10);
  }
  await managed.stop(1_000);
  throw new Error('nginx did not start within 5 s');
}
