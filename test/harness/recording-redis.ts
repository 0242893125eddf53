import { createServer, type Server, type Socket } from 'node:net';

/** RecordingRedis is a stand-in for a Redis a tenant controls: it answers enough RESP to look like one and records what clients send. */
export interface RecordingRedis {
  /** url is `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** connections counts the TCP connections accepted so far. */
  connections(): number;
  /** commands lists every command received, as its arguments (the command name first, as sent). */
  commands(): readonly (readonly string[])[];
  /** credentials lists the arguments of every AUTH and HELLO received: what a client gave away. */
  credentials(): readonly (readonly string[])[];
  close(): Promise<void>;
}

/**
 * parseCommands reads the complete RESP arrays of bulk strings at the start of `buffer` (how every
 * client sends commands, RESP §"Sending commands to a Redis server") and returns them with the
 * bytes consumed; an incomplete tail stays for the next chunk.
 */
export function parseCommands(buffer: Buffer): { commands: string[][]; consumed: number } {
  const commands: string[][] = [];
  let at = 0;
  for (;;) {
    const parsed = parseOne(buffer, at);
    if (parsed === undefined) return { commands, consumed: at };
    commands.push(parsed.args);
    at = parsed.next;
  }
}

function readLine(buffer: Buffer, at: number): { line: string; next: number } | undefined {
  const end = buffer.indexOf('\r\n', at, 'latin1');
  return end === -1 ? undefined : { line: buffer.toString('latin1', at, end), next: end + 2 };
}

function parseOne(buffer: Buffer, start: number): { args: string[]; next: number } | undefined {
  const header = readLine(buffer, start);
  if (header === undefined) return undefined;
  if (!header.line.startsWith('*')) return { args: header.line.split(' ').filter(Boolean), next: header.next }; // inline command
  const args: string[] = [];
  let at = header.next;
  for (let i = 0; i < Number(header.line.slice(1)); i++) {
    const size = readLine(buffer, at);
    if (size === undefined) return undefined;
    const length = Number(size.line.slice(1));
    if (buffer.length < size.next + length + 2) return undefined;
    args.push(buffer.toString('utf8', size.next, size.next + length));
    at = size.next + length + 2;
  }
  return { args, next: at };
}

/** answer is what a permissive Redis 7 would say, enough for ioredis to become ready and read. */
function answer(args: readonly string[]): string {
  switch ((args[0] ?? '').toUpperCase()) {
    case 'HELLO': return '-ERR unknown command \'HELLO\'\r\n';
    case 'INFO': {
      const info = '# Server\r\nredis_version:7.0.15\r\nloading:0\r\n';
      return `$${String(Buffer.byteLength(info))}\r\n${info}\r\n`;
    }
    case 'HGET': case 'GET': return '$-1\r\n';
    case 'PING': return '+PONG\r\n';
    default: return '+OK\r\n';
  }
}

/** startRecordingRedis listens on a free loopback port. */
export async function startRecordingRedis(): Promise<RecordingRedis> {
  const commands: string[][] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      const parsed = parseCommands(pending);
      pending = pending.subarray(parsed.consumed);
      for (const args of parsed.commands) {
        commands.push(args);
        socket.write(answer(args));
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the recording Redis has no TCP address');
  return {
    url: `redis://127.0.0.1:${String(address.port)}`,
    connections: () => connections,
    commands: () => commands,
    credentials: () => commands.filter((c) => ['AUTH', 'HELLO'].includes((c[0] ?? '').toUpperCase())),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
