// Preloaded into the proxy's process (`node --import bench/probe.ts proxy/main.ts`): answers CPU
// and memory probes over the IPC channel, and ends the process when the benchmark goes away.

/** ProbeSample is the proxy process's own view of its resource use. */
export interface ProbeSample {
  /** cpuMicros is user plus system CPU time since the process started (process.cpuUsage). */
  readonly cpuMicros: number;
  readonly rssBytes: number;
  /** heapUsedBytes tells a growing heap (live objects) from a heap V8 merely has not shrunk. */
  readonly heapUsedBytes: number;
}

if (process.send !== undefined) {
  process.on('message', (message: unknown) => {
    if (message !== 'probe') return;
    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    const sample: ProbeSample = { cpuMicros: cpu.user + cpu.system, rssBytes: memory.rss, heapUsedBytes: memory.heapUsed };
    process.send?.(sample);
  });
  // The channel must not keep an idle proxy alive, and a vanished benchmark must not leave it behind.
  process.channel?.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
