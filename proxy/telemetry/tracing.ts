import { NodeSDK } from '@opentelemetry/sdk-node';

/**
 * startTracing starts the OpenTelemetry SDK when an exporter is configured through the standard
 * OTEL_* variables (the SDK reads them itself); otherwise the API stays a no-op. Spans carry
 * routes, models, statuses, token counts and the release digest, never content. Automatic
 * instrumentations are off: the proxy makes its own span per request.
 */
export function startTracing(enabled: boolean, serviceName: string): { shutdown(): Promise<void> } {
  if (!enabled) return { shutdown: () => Promise.resolve() };
  const sdk = new NodeSDK({ serviceName, instrumentations: [] });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
