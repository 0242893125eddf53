import { describe, expect, it } from 'vitest';
import { endpointManifest, getEndpoint, namespaceWithKey, waitReady, PRICES } from '../harness/endpoints.ts';
import { BUDGET_LIMITS_STORE, BUDGET_NAMESPACE, LIMITS_OPERATOR_KEY, LIMITS_OPERATOR_USER, LIMITS_SECRET, limitsSecret } from '../harness/install.ts';
import { eventually, podsOf, type E2e } from '../harness/kube.ts';
import { clientChat, deployment, idlePod, type ClientAnswer } from '../harness/world.ts';
import type { World } from '../harness/world-state.ts';

const NS = BUDGET_NAMESPACE;
const ENDPOINT = 'metered';
/** BUDGET is the namespace's daily budget: 0.0003 USD, i.e. 300 micro-USD, a dozen completions. */
const BUDGET = '0.0003';
const BUDGET_MICROS = 300;
const SERVICE_URL = `http://${ENDPOINT}.${NS}.svc/v1`;
const SIDECAR_URL = 'http://127.0.0.1:15080/v1';

/** costMicros prices a completion with the suite's table: 1 USD/M input tokens, 2 USD/M output. */
function costMicros(answer: ClientAnswer): number {
  const price = PRICES.models['llama3-3-70b'];
  return (answer.usage?.prompt_tokens ?? 0) * Number(price.input) + (answer.usage?.completion_tokens ?? 0) * Number(price.output);
}

async function deployRedis(k: E2e): Promise<void> {
  const labels = { app: 'redis' };
  await k.apply([
    limitsSecret(NS),
    deployment('redis', NS, {
      labels,
      annotations: { 'inference.attested.dev/inject': 'false' },
      spec: {
        containers: [
          {
            name: 'redis',
            image: k.images.redis,
            imagePullPolicy: k.images.pullPolicy,
            // The default user is the proxies'; the operator's user may only read the namespace spend keys (ADR 0009).
            args: ['--port', '6379', '--requirepass', '$(REDIS_PASSWORD)', '--save', '', '--appendonly', 'no', '--protected-mode', 'no',
              '--user', LIMITS_OPERATOR_USER, 'on', '>$(OPERATOR_PASSWORD)', 'resetkeys', '%R~aio:*:namespace:spend:*', 'resetchannels', '-@all', '+hget'],
            env: [
              { name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: LIMITS_SECRET, key: 'password' } } },
              { name: 'OPERATOR_PASSWORD', valueFrom: { secretKeyRef: { name: LIMITS_SECRET, key: LIMITS_OPERATOR_KEY } } },
            ],
            ports: [{ name: 'redis', containerPort: 6379 }],
            readinessProbe: { tcpSocket: { port: 'redis' }, periodSeconds: 1 },
            securityContext: { runAsNonRoot: true, runAsUser: 65532, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
            volumeMounts: [{ name: 'data', mountPath: '/data' }],
          },
        ],
        volumes: [{ name: 'data', emptyDir: {} }],
      },
    }),
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'redis', namespace: NS }, spec: { selector: labels, ports: [{ name: 'redis', port: 6379, targetPort: 'redis' }] } },
  ]);
  await k.run(['-n', NS, 'rollout', 'status', 'deployment/redis', '--timeout=120s']);
}

/** chatFrom runs one completion from the app container of the injected pod. */
function chatFrom(k: E2e, pod: string, baseUrl: string): Promise<ClientAnswer> {
  return clientChat(k, NS, baseUrl, { pod, container: 'app' });
}

/** Issue #10 on real pods: two replicas and an injected sidecar share one namespace budget through Redis. */
export function budgetsScenario(world: World): void {
  describe('8. a namespace budget shared by replicas and a sidecar through Redis', () => {
    it('admits up to the budget in total across both replicas and the sidecar, never over, then refuses everywhere with insufficient_quota', async () => {
      const { k } = world;
      await namespaceWithKey(k, NS, 'sk-e2e-budget-key', { 'inference.attested.dev/injection': 'enabled' });
      await deployRedis(k);
      const manifest = endpointManifest(ENDPOINT, NS, world.publicKeyPem) as { spec: Record<string, unknown> };
      manifest.spec.budgets = { namespace: { daily: BUDGET } };
      // Each request reserves its body at four bytes a token plus 16 output tokens, more than the
      // simulator's answers use (a few words each way), so requests never overshoot the budget.
      manifest.spec.reservation = { defaultOutputTokens: 16, inputBytesPerToken: 4 };
      manifest.spec.limitsStore = { redis: { url: BUDGET_LIMITS_STORE, passwordSecretRef: { name: LIMITS_SECRET }, failurePolicy: 'FailClosed' } };
      await k.apply([manifest]);
      await waitReady(k, NS, ENDPOINT);
      expect(await podsOf(k, NS, `app.kubernetes.io/instance=${ENDPOINT}`)).toHaveLength(2);
      await k.apply([idlePod(k, { name: 'metered-app', namespace: NS, container: 'app' })]);
      await k.run(['-n', NS, 'wait', '--for=condition=Ready', 'pod/metered-app', '--timeout=120s']);

      // Alternate the Service (either replica) and the sidecar until the budget refuses.
      let spent = 0;
      const admitted = { service: 0, sidecar: 0 };
      let refused: ClientAnswer | undefined;
      for (let i = 0; i < 60 && refused === undefined; i++) {
        const path = i % 2 === 0 ? 'service' : 'sidecar';
        const answer = await chatFrom(k, 'metered-app', path === 'service' ? SERVICE_URL : SIDECAR_URL);
        if (answer.error === undefined) {
          spent += costMicros(answer);
          admitted[path]++;
        } else refused = answer;
      }
      expect(refused?.error).toMatchObject({ status: 429, code: 'insufficient_quota' });
      expect(admitted.service).toBeGreaterThan(0);
      expect(admitted.sidecar).toBeGreaterThan(0);
      // One budget for all three proxies, held by reservations: the spend stops below the budget,
      // once what is left no longer covers a request's estimate; per-proxy budgets would have
      // admitted up to three times as much.
      expect(spent).toBeLessThan(BUDGET_MICROS);
      expect(spent).toBeGreaterThanOrEqual(BUDGET_MICROS * 0.8);
      for (const url of [SERVICE_URL, SERVICE_URL, SERVICE_URL, SIDECAR_URL]) {
        expect((await chatFrom(k, 'metered-app', url)).error?.code).toBe('insufficient_quota');
      }
      // The operator reads the spend from the same Redis for status and says so with an Event.
      const window = await eventually('status.budgets to show the day spent', async () => {
        const budgets = (await getEndpoint(k, NS, ENDPOINT)).status as { budgets?: { window: string; budget: string; spent: string; percentUsed?: number }[] } | undefined;
        const day = budgets?.budgets?.find((b) => b.window === 'day');
        return day !== undefined && (day.percentUsed ?? 0) >= 80 ? day : undefined;
      }, { timeoutMs: 150_000, intervalMs: 5_000 });
      expect(Math.round(Number(window.spent) * 1e6)).toBe(spent);
      const events = await k.json<{ items: { reason: string }[] }>(['-n', NS, 'get', 'events', '--field-selector', `involvedObject.name=${ENDPOINT},reason=BudgetAlmostSpent`]);
      expect(events.items.length).toBeGreaterThan(0);
    });
  });
}
