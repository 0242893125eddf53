import { describe, expect, it } from 'vitest';
import { usageFromResponseBody } from './usage.ts';

describe('usageFromResponseBody', () => {
  it('reads a chat completion with cached prompt tokens', () => {
    const body = {
      object: 'chat.completion',
      model: 'llama3-3-70b',
      choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1200, completion_tokens: 35, total_tokens: 1235, prompt_tokens_details: { cached_tokens: 1024 } },
    };
    expect(usageFromResponseBody('chat/completions', body)).toEqual({ inputTokens: 1200, cachedInputTokens: 1024, outputTokens: 35, model: 'llama3-3-70b' });
  });

  it('reads a legacy completion without token details', () => {
    const body = { object: 'text_completion', model: 'm', choices: [{ text: 'x' }], usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 } };
    expect(usageFromResponseBody('completions', body)).toEqual({ inputTokens: 5, cachedInputTokens: 0, outputTokens: 7, model: 'm' });
  });

  it('reads a Responses API body with its renamed fields', () => {
    const body = {
      object: 'response',
      model: 'gpt-oss-120b',
      output: [],
      usage: { input_tokens: 300, input_tokens_details: { cached_tokens: 256 }, output_tokens: 90, output_tokens_details: { reasoning_tokens: 40 }, total_tokens: 390 },
    };
    expect(usageFromResponseBody('responses', body)).toEqual({ inputTokens: 300, cachedInputTokens: 256, outputTokens: 90, model: 'gpt-oss-120b' });
  });

  it('does not read chat field names on the responses route, or the reverse', () => {
    expect(usageFromResponseBody('responses', { usage: { prompt_tokens: 3, completion_tokens: 4 } })).toBeUndefined();
    expect(usageFromResponseBody('chat/completions', { usage: { input_tokens: 3, output_tokens: 4 } })).toBeUndefined();
  });

  it('reads embeddings as input only, whatever else the usage holds', () => {
    const body = { object: 'list', data: [], model: 'nomic-embed-text', usage: { prompt_tokens: 8, total_tokens: 8, completion_tokens: 99 } };
    expect(usageFromResponseBody('embeddings', body)).toEqual({ inputTokens: 8, cachedInputTokens: 0, outputTokens: 0, model: 'nomic-embed-text' });
  });

  it('reads token-billed transcriptions and ignores duration-billed ones', () => {
    const tokens = { text: 'hello', usage: { type: 'tokens', input_tokens: 14, input_token_details: { audio_tokens: 14 }, output_tokens: 45, total_tokens: 59 } };
    expect(usageFromResponseBody('audio/transcriptions', tokens)).toEqual({ inputTokens: 14, cachedInputTokens: 0, outputTokens: 45 });
    expect(usageFromResponseBody('audio/transcriptions', { text: 'hello', usage: { type: 'duration', seconds: 3 } })).toBeUndefined();
    expect(usageFromResponseBody('audio/transcriptions', { text: 'hello' })).toBeUndefined();
  });

  it('counts a missing side as zero when the other is present', () => {
    expect(usageFromResponseBody('chat/completions', { usage: { prompt_tokens: 4 } })).toEqual({ inputTokens: 4, cachedInputTokens: 0, outputTokens: 0 });
    expect(usageFromResponseBody('chat/completions', { usage: { completion_tokens: 2 } })).toEqual({ inputTokens: 0, cachedInputTokens: 0, outputTokens: 2 });
  });

  it('clamps a cached count larger than the input count', () => {
    const body = { usage: { prompt_tokens: 10, completion_tokens: 1, prompt_tokens_details: { cached_tokens: 50 } } };
    expect(usageFromResponseBody('chat/completions', body)?.cachedInputTokens).toBe(10);
  });

  it.each([
    ['null', null],
    ['a string', 'usage'],
    ['an array', [{ usage: { prompt_tokens: 1 } }]],
    ['no usage', { model: 'm' }],
    ['null usage', { usage: null }],
    ['an array usage', { usage: [1, 2] }],
    ['string counts', { usage: { prompt_tokens: '5', completion_tokens: '6' } }],
    ['negative counts', { usage: { prompt_tokens: -1, completion_tokens: -2 } }],
    ['fractional counts', { usage: { prompt_tokens: 1.5, completion_tokens: 2.5 } }],
    ['unsafe counts', { usage: { prompt_tokens: 2 ** 60 } }],
  ])('returns undefined for %s', (_name, body) => {
    expect(usageFromResponseBody('chat/completions', body)).toBeUndefined();
  });

  it('ignores a bad cached count and a non-string model', () => {
    const body = { model: 42, usage: { prompt_tokens: 3, completion_tokens: 1, prompt_tokens_details: { cached_tokens: 'lots' } } };
    expect(usageFromResponseBody('chat/completions', body)).toEqual({ inputTokens: 3, cachedInputTokens: 0, outputTokens: 1 });
  });
});
