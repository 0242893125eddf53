import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort, startProcess, waitFor, type ManagedProcess } from '../../harness/processes.ts';

/** ScrapeTarget is one static target and the target labels a Kubernetes service discovery would add. */
export interface ScrapeTarget {
  readonly job: string;
  /** address is host:port of a /metrics endpoint. */
  readonly address: string;
  readonly labels: Record<string, string>;
  /** honorLabels keeps the metric's own label on a clash (a ServiceMonitor's `honorLabels`). */
  readonly honorLabels: boolean;
}

/** Sample is one series of an instant query. */
export interface Sample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

/** TestPrometheus is a real Prometheus on loopback with its own data folder. */
export interface TestPrometheus {
  readonly url: string;
  query(expr: string): Promise<Sample[]>;
  /** api GETs an HTTP API path (e.g. /api/v1/rules) and returns its `data`. */
  api<T>(path: string): Promise<T>;
  stop(): Promise<void>;
}

/** startPrometheus runs Debian's `prometheus` scraping `targets` every second and evaluating `ruleFiles`. */
export async function startPrometheus(targets: readonly ScrapeTarget[], ruleFiles: readonly string[]): Promise<TestPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'aio-prometheus-'));
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '900ms', evaluation_interval: '1s' },
    rule_files: ruleFiles,
    scrape_configs: targets.map((t, i) => ({
      job_name: `${t.job}-${String(i)}`,
      honor_labels: t.honorLabels,
      static_configs: [{ targets: [t.address], labels: t.labels }],
      // Static configs cannot set `job` from a label; the relabelling gives each target its job.
      relabel_configs: [{ target_label: 'job', replacement: t.job }],
    })),
  };
  await writeFile(join(dir, 'prometheus.yml'), stringify(config));
  const port = await freePort();
  const server: ManagedProcess = startProcess('prometheus', 'prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${String(port)}`,
    '--log.level=warn',
  ], join(dir, 'prometheus.log'));
  const url = `http://127.0.0.1:${String(port)}`;
  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${url}${path}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${path}: ${body.error ?? response.statusText}`);
    return body.data;
  };
  await waitFor('prometheus to be ready', async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok === true, { timeoutMs: 20_000, intervalMs: 100, process: server });
  return {
    url,
    api,
    async query(expr: string): Promise<Sample[]> {
      const data = await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async stop(): Promise<void> {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
