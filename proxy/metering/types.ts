/** TokenUsage is what one request consumed, in the provider's token counts. */
export interface TokenUsage {
  /** inputTokens counts every prompt token, cached ones included. */
  readonly inputTokens: number;
  /** cachedInputTokens is the part of inputTokens served from the provider's prompt cache. */
  readonly cachedInputTokens: number;
  readonly outputTokens: number;
  /** model is the model the provider reports, when it reports one. */
  readonly model?: string;
}

/**
 * ModelPrice is a model's price in integer micro-units of the table's currency per million tokens
 * (USD 0.15 per 1M input tokens is `inputPerMillion: 150000`). Cached input defaults to the input
 * price when absent.
 */
export interface ModelPrice {
  readonly inputPerMillion: number;
  readonly cachedInputPerMillion?: number;
  readonly outputPerMillion: number;
}

/** PriceTable maps model names to prices; `default` prices models the table does not name. */
export interface PriceTable {
  readonly currency: string;
  readonly models: Readonly<Record<string, ModelPrice>>;
  readonly default?: ModelPrice;
}

/**
 * InferenceRoute names an OpenAI route the proxy meters, as the path after `/v1/`. Metric `route`
 * labels use these strings.
 */
export type InferenceRoute = 'chat/completions' | 'completions' | 'responses' | 'embeddings' | 'audio/transcriptions';
