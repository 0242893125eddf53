// The attesting proxy's entry point: load the configuration, wire the runtime, listen, and drain
// on SIGTERM. Everything else lives in the modules it calls.
//   node proxy/main.ts [--config FILE]      (or PROXY_CONFIG_FILE)
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, proxyEnvironment, tracingEnabled } from './config/load.ts';
import { createRuntime } from './runtime.ts';
import { startProxy } from './server.ts';
import { createLogger } from './telemetry/logger.ts';

const DEFAULT_CONFIG = '/etc/attested-inference/proxy.yaml';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' } } });
  const env = proxyEnvironment(process.env);
  const config = await loadConfig(values.config ?? env.PROXY_CONFIG_FILE ?? DEFAULT_CONFIG, env);
  const logger = createLogger(config.logLevel);
  // The OpenTelemetry SDK and the Kubernetes client are large; a sidecar that needs neither does
  // not load them (each costs tens of MiB of memory and part of the start-up time).
  const tracing = tracingEnabled(env)
    ? (await import('./telemetry/tracing.ts')).startTracing(true, 'attested-inference-proxy')
    : { shutdown: (): Promise<void> => Promise.resolve() };
  const tokenReview = config.auth.mode === 'serviceaccount' ? (await import('./auth/in-cluster.ts')).inClusterTokenReview() : undefined;
  const runtime = await createRuntime(config, { logger, ...(tokenReview ? { tokenReview } : {}) });
  const proxy = await startProxy(runtime, logger);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    void proxy.shutdown().then(() => tracing.shutdown()).finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
