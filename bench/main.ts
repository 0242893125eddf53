// `npm run bench [-- --quick] [--only SECTION,…] [--profile]`: measures the proxy's overhead,
// footprint and attestation cost and the operator at scale on this machine, prints a table and
// writes it under bench/results/. It reports targets and never fails because one is missed; it
// exits non-zero only when something went wrong. `--profile` writes CPU profiles instead.
import { fileURLToPath } from 'node:url';
import { benchOptions, SECTIONS } from './options.ts';
import { profileMode } from './profile.ts';
import { renderText, writeResults } from './report.ts';
import { Cleanup } from './cleanup.ts';
import { runBench } from './run.ts';

const RESULTS_DIR = fileURLToPath(new URL('results/', import.meta.url));
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

async function main(): Promise<number> {
  const cleanup = new Cleanup();
  const interrupted = (signal: string): void => {
    log(`${signal}: stopping everything the benchmark started`);
    void cleanup.run().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const options = benchOptions(process.argv.slice(2));
    if (options.profile) {
      process.stdout.write(`${await profileMode({ resultsDir: RESULTS_DIR, quick: options.quick, cleanup, log })}\n`);
      return 0;
    }
    const report = await runBench(options, cleanup, log);
    await cleanup.run();
    process.stdout.write(`${renderText(report)}\n`);
    const only = options.sections.length < SECTIONS.length ? options.sections : undefined;
    for (const file of writeResults(report, RESULTS_DIR, only)) log(`wrote ${file}`);
    return report.errors === 0 ? 0 : 1;
  } finally {
    await cleanup.run();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
