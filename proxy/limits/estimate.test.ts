import { describe, expect, it } from 'vitest';
import { ProxyError } from '../errors.ts';
import { estimateTokens } from './estimate.ts';

const settings = { defaultOutputTokens: 1000, inputBytesPerToken: 4 };

describe('estimateTokens', () => {
  it('counts the body at four bytes a token and the output maximum the caller named', () => {
    expect(estimateTokens({ route: 'chat/completions', json: { max_completion_tokens: 30, max_tokens: 99 }, bodyBytes: 401 }, settings)).toEqual({ inputTokens: 101, outputTokens: 30 });
    expect(estimateTokens({ route: 'chat/completions', json: { max_tokens: 99 }, bodyBytes: 8 }, settings)).toEqual({ inputTokens: 2, outputTokens: 99 });
    expect(estimateTokens({ route: 'completions', json: { max_tokens: 5 }, bodyBytes: 4 }, settings)).toEqual({ inputTokens: 1, outputTokens: 5 });
    expect(estimateTokens({ route: 'responses', json: { max_output_tokens: 7, max_tokens: 1 }, bodyBytes: 0 }, settings)).toEqual({ inputTokens: 0, outputTokens: 7 });
  });

  it('multiplies the output by the answers asked for', () => {
    expect(estimateTokens({ route: 'chat/completions', json: { max_tokens: 10, n: 3 }, bodyBytes: 0 }, settings).outputTokens).toBe(30);
    expect(estimateTokens({ route: 'completions', json: { max_tokens: 10, n: 2, best_of: 5 }, bodyBytes: 0 }, settings).outputTokens).toBe(50);
    expect(estimateTokens({ route: 'chat/completions', json: { n: 2 }, bodyBytes: 0 }, settings).outputTokens).toBe(2000);
  });

  it('assumes the default output when none is named, and for bodies it cannot read', () => {
    expect(estimateTokens({ route: 'chat/completions', json: {}, bodyBytes: 40 }, settings)).toEqual({ inputTokens: 10, outputTokens: 1000 });
    expect(estimateTokens({ route: 'chat/completions', bodyBytes: 40 }, settings)).toEqual({ inputTokens: 10, outputTokens: 1000 }); // client-sealed
    expect(estimateTokens({ route: 'audio/transcriptions', bodyBytes: 4_000_000 }, settings)).toEqual({ inputTokens: 0, outputTokens: 1000 });
  });

  it('reserves no output for embeddings', () => {
    expect(estimateTokens({ route: 'embeddings', json: { max_tokens: 10 }, bodyBytes: 40 }, settings)).toEqual({ inputTokens: 10, outputTokens: 0 });
  });

  it('refuses an output bound that is not a non-negative integer, naming it', () => {
    for (const [field, value] of [['max_tokens', '100000'], ['max_completion_tokens', 1.5], ['max_output_tokens', -1], ['n', 0], ['best_of', true]] as const) {
      const route = field === 'max_output_tokens' ? 'responses' : field === 'best_of' ? 'completions' : 'chat/completions';
      const attempt = (): unknown => estimateTokens({ route, json: { [field]: value }, bodyBytes: 0 }, settings);
      expect(attempt).toThrow(ProxyError);
      expect(attempt).toThrow(expect.objectContaining({ code: 'invalid_type', param: field }) as Error);
    }
  });
});
