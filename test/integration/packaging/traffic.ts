import OpenAI from 'openai';
import { costMicros } from '../../../proxy/metering/cost.ts';
import type { ModelPrice } from '../../../proxy/metering/types.ts';

/** Ledger adds up what the proxies' answers said, as the dashboard's totals should show it. */
export class Ledger {
  /** tokens by `namespace|endpoint|model|token_type`. */
  readonly tokens = new Map<string, number>();
  /** cost in micro-units by `namespace|endpoint|model`. */
  readonly cost = new Map<string, number>();
  /** statuses by `endpoint|status`. */
  readonly statuses = new Map<string, number>();

  record(where: Where, model: string, usage: OpenAI.CompletionUsage | OpenAI.CreateEmbeddingResponse.Usage): void {
    const prompt = usage.prompt_tokens;
    const cached = Math.min('prompt_tokens_details' in usage ? usage.prompt_tokens_details?.cached_tokens ?? 0 : 0, prompt);
    const output = 'completion_tokens' in usage ? usage.completion_tokens : 0;
    const byType: [string, number][] = [['input', prompt - cached], ['cached_input', cached], ['output', output]];
    for (const [type, count] of byType) {
      if (count > 0) add(this.tokens, `${where.namespace}|${where.endpoint}|${model}|${type}`, count);
    }
    const price = where.prices[model];
    if (price !== undefined) add(this.cost, `${where.namespace}|${where.endpoint}|${model}`, costMicros({ inputTokens: prompt, cachedInputTokens: cached, outputTokens: output }, price));
  }

  status(where: Where, status: number): void {
    add(this.statuses, `${where.endpoint}|${String(status)}`, 1);
  }
}

function add(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

/** Where is one proxy: its endpoint identity, URL and price table. */
export interface Where {
  readonly namespace: string;
  /** endpoint is `<namespace>/<name>`, the config_info label. */
  readonly endpoint: string;
  readonly apiUrl: string;
  readonly prices: Readonly<Record<string, ModelPrice>>;
}

function client(where: Where): OpenAI {
  return new OpenAI({ baseURL: `${where.apiUrl}/v1`, apiKey: 'caller', maxRetries: 0 });
}

/** settle runs a request and records its status; 4xx and 5xx are answers here, not failures. */
async function settle(ledger: Ledger, where: Where, call: () => Promise<void>): Promise<void> {
  try {
    await call();
    ledger.status(where, 200);
  } catch (error) {
    const status: unknown = error instanceof OpenAI.APIError ? error.status : undefined;
    if (typeof status !== 'number') throw error;
    ledger.status(where, status);
  }
}

/** chat sends a chat completion, streamed (with usage) or not, and records its usage. */
export function chat(ledger: Ledger, where: Where, options: { stream: boolean; model?: string }): Promise<void> {
  const model = options.model ?? 'llama3-3-70b';
  const messages = [{ role: 'user' as const, content: 'How many tokens is this?' }];
  return settle(ledger, where, async () => {
    if (!options.stream) {
      const answer = await client(where).chat.completions.create({ model, messages });
      if (answer.usage) ledger.record(where, answer.model, answer.usage);
      return;
    }
    const stream = await client(where).chat.completions.create({ model, messages, stream: true, stream_options: { include_usage: true } });
    for await (const chunk of stream) if (chunk.usage) ledger.record(where, chunk.model, chunk.usage);
  });
}

/** embed sends an embeddings request and records its usage. */
export function embed(ledger: Ledger, where: Where, model = 'nomic-embed-text'): Promise<void> {
  return settle(ledger, where, async () => {
    const answer = await client(where).embeddings.create({ model, input: 'embed these words please' });
    ledger.record(where, answer.model, answer.usage);
  });
}
