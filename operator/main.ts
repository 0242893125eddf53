// The operator's entry point: read options, start the operator, stop it gracefully on SIGTERM.
//   node operator/main.ts --proxy-image IMAGE [--kubeconfig FILE] [--namespaces a,b] [--allow-development-trust] [--policy-file FILE]
import pino from 'pino';
import { startOperator } from './app.ts';
import { parseOperatorOptions } from './config.ts';

async function main(): Promise<void> {
  const options = parseOperatorOptions(process.argv.slice(2), process.env);
  const logger = pino({ level: options.logLevel, base: { component: 'operator' }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } });
  if (options.allowDevelopmentTrust) logger.warn('DEVELOPMENT TRUST ALLOWED: endpoints may trust a development signing key instead of hardware attestation');
  logger.info({ policy: options.policy.name, exceptions: Object.keys(options.policy.namespaces) }, 'admin policy loaded');
  const operator = await startOperator(options, logger);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    void operator.stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
