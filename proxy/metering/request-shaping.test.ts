import { describe, expect, it } from 'vitest';
import { ensureStreamUsage, injectPromptCacheSecret } from './request-shaping.ts';

describe('ensureStreamUsage', () => {
  it('adds include_usage to a streamed chat request and says so', () => {
    const body = { model: 'm', stream: true, messages: [] };
    const shaped = ensureStreamUsage(body, 'chat/completions');
    expect(shaped).toEqual({ body: { model: 'm', stream: true, messages: [], stream_options: { include_usage: true } }, injected: true });
    expect(body).toEqual({ model: 'm', stream: true, messages: [] });
  });

  it('keeps other stream_options and overrides an explicit false (the usage chunk is then hidden)', () => {
    const body = { stream: true, prompt: 'x', stream_options: { include_usage: false, include_obfuscation: false } };
    expect(ensureStreamUsage(body, 'completions')).toEqual({
      body: { stream: true, prompt: 'x', stream_options: { include_usage: true, include_obfuscation: false } },
      injected: true,
    });
    expect(body.stream_options.include_usage).toBe(false);
  });

  it('treats a null stream_options as absent', () => {
    expect(ensureStreamUsage({ stream: true, stream_options: null }, 'chat/completions').injected).toBe(true);
  });

  it('leaves a caller who asked for usage alone', () => {
    const body = { stream: true, stream_options: { include_usage: true } };
    const shaped = ensureStreamUsage(body, 'chat/completions');
    expect(shaped.injected).toBe(false);
    expect(shaped.body).toBe(body);
  });

  it.each([
    ['a non-streamed request', { stream: false }, 'chat/completions'],
    ['a request without stream', {}, 'chat/completions'],
    ['a truthy non-boolean stream', { stream: 'true' }, 'chat/completions'],
    ['an invalid stream_options', { stream: true, stream_options: 'yes' }, 'chat/completions'],
    ['the responses route', { stream: true }, 'responses'],
    ['the embeddings route', { stream: true }, 'embeddings'],
    ['a non-object body', [1, 2], 'chat/completions'],
    ['a null body', null, 'chat/completions'],
  ] as const)('leaves %s unchanged', (_name, body, route) => {
    const shaped = ensureStreamUsage(body, route);
    expect(shaped.injected).toBe(false);
    expect(shaped.body).toBe(body);
  });
});

describe('injectPromptCacheSecret', () => {
  it('sets the secret on chat, completions and responses requests', () => {
    for (const route of ['chat/completions', 'completions', 'responses'] as const) {
      const body = { model: 'm' };
      expect(injectPromptCacheSecret(body, route, 's3cret')).toEqual({ body: { model: 'm', user_cache_secret: 's3cret' }, injected: true });
      expect(body).toEqual({ model: 'm' });
    }
  });

  it('keeps a caller-supplied secret', () => {
    const body = { model: 'm', user_cache_secret: 'mine' };
    expect(injectPromptCacheSecret(body, 'chat/completions', 's3cret')).toEqual({ body, injected: false });
  });

  it('changes nothing for other routes, non-object bodies or an empty secret', () => {
    expect(injectPromptCacheSecret({ input: 'x' }, 'embeddings', 's').injected).toBe(false);
    expect(injectPromptCacheSecret({ file: 'x' }, 'audio/transcriptions', 's').injected).toBe(false);
    expect(injectPromptCacheSecret('text', 'chat/completions', 's').injected).toBe(false);
    expect(injectPromptCacheSecret({ model: 'm' }, 'chat/completions', '').injected).toBe(false);
  });
});
