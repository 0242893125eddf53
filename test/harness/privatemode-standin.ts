import { readFile } from 'node:fs/promises';
import { startEnclaveSimulator, type EnclaveSimulator } from './enclave-simulator/index.ts';

/**
 * A local stand-in for Privatemode's privatemode-proxy: it takes the flags the operator renders for
 * that container (`--apiKey=@<file>`, `--port=<n>`, `--workspace=<dir>`), refuses to start without a
 * key, as privatemode-proxy does when its key is given but unreadable, and answers OpenAI-compatible
 * requests in plaintext with `usage` in clear (the enclave simulator answering unsealed requests). The
 * real process also attests Privatemode's deployment and encrypts what it forwards; nothing of that
 * is simulated here, only what this project's proxy sees of it on loopback.
 */

/** PrivatemodeStandIn is a running stand-in: its address, the key it was started with, and the simulator answering for it. */
export interface PrivatemodeStandIn {
  readonly url: string;
  readonly apiKey: string;
  readonly workspace: string | undefined;
  readonly simulator: EnclaveSimulator;
  close(): Promise<void>;
}

/** FLAGS are the privatemode-proxy flags the stand-in understands; any other is refused, as a typo would be. */
const FLAGS = ['apiKey', 'port', 'workspace'] as const;

function parseFlags(args: readonly string[]): Partial<Record<(typeof FLAGS)[number], string>> {
  const flags: Partial<Record<(typeof FLAGS)[number], string>> = {};
  for (const arg of args) {
    const match = /^--([A-Za-z]+)=(.*)$/.exec(arg);
    const name = FLAGS.find((f) => f === match?.[1]);
    if (match === null || name === undefined) throw new Error(`privatemode-proxy stand-in: unknown or malformed flag ${arg}`);
    flags[name] = match[2];
  }
  return flags;
}

/** startPrivatemodeStandIn starts the stand-in with privatemode-proxy's flags, on loopback. */
export async function startPrivatemodeStandIn(args: readonly string[]): Promise<PrivatemodeStandIn> {
  const flags = parseFlags(args);
  const keyFlag = flags.apiKey ?? '';
  // privatemode-proxy reads `--apiKey=@path` from the file (trimmed); a plain value is the key itself.
  const apiKey = keyFlag.startsWith('@') ? (await readFile(keyFlag.slice(1), 'utf8')).trim() : keyFlag;
  if (apiKey === '') throw new Error('privatemode-proxy stand-in: --apiKey names no key');
  const simulator = await startEnclaveSimulator({ port: Number(flags.port ?? '8080') });
  return { url: simulator.url, apiKey, workspace: flags.workspace, simulator, close: () => simulator.close() };
}
