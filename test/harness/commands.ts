import { execFile, spawn } from 'node:child_process';

/** CommandResult is a finished command's exit code and output. */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** runCommand runs `bin` to completion, never throwing on a non-zero exit; `input` goes to stdin. */
export function runCommand(
  bin: string,
  args: readonly string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(
      bin,
      args,
      { maxBuffer: 64 << 20, env: options.env ?? process.env, timeout: options.timeoutMs ?? 120_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr: error !== null && stderr === '' ? error.message : stderr });
      },
    );
    // A command that exits without reading its input closes the pipe: that is its answer, not ours to throw.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input ?? '');
  });
}

/**
 * runScript runs a bash script (a hack/ script) to completion with its progress passed through to
 * our stderr, and resolves with its trimmed stdout; a failure rejects naming the script.
 */
export function runScript(script: string, args: readonly string[] = [], options: { cwd?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'], ...(options.cwd === undefined ? {} : { cwd: options.cwd }) });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve(out.trim());
      else reject(new Error(`${[script, ...args].join(' ')} failed (${signal ?? `exit ${String(code)}`}); its messages are above`));
    });
  });
}

/** KubeTools runs the pinned kubectl and helm against one kubeconfig. */
export interface KubeTools {
  kubectl(args: readonly string[], input?: string): Promise<CommandResult>;
  helm(args: readonly string[]): Promise<CommandResult>;
}

/** kubeTools binds kubectl and helm from `binDir` to `kubeconfigPath`, with a private HOME for their caches. */
export function kubeTools(binDir: string, kubeconfigPath: string, home: string): KubeTools {
  const env = { ...process.env, HOME: home, KUBECONFIG: kubeconfigPath };
  return {
    kubectl: (args, input) => runCommand(`${binDir}/kubectl`, args, { input, env }),
    helm: (args) => runCommand(`${binDir}/helm`, args, { env }),
  };
}
