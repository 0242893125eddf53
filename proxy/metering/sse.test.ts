import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { IncompleteAnswerError } from './completeness.ts';
import { SseUsageParser, createSseUsageTransform, type SseUsageOptions } from './sse.ts';
import type { TokenUsage } from './types.ts';

const event = (data: string, eol = '\n'): string => `data: ${data}${eol}${eol}`;
const chunk = (choices: unknown[], extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', model: 'llama3-3-70b', choices, ...extra });

// A chat stream as OpenAI sends it with stream_options.include_usage: every chunk has
// `usage: null`, then one usage-only chunk with empty choices, then [DONE]. The content is
// multi-byte UTF-8 so that splits land inside characters too.
const ROLE = chunk([{ index: 0, delta: { role: 'assistant', content: '' } }], { usage: null });
const HELLO = chunk([{ index: 0, delta: { content: 'Héllo 🌍' } }], { usage: null });
const STOP = chunk([{ index: 0, delta: {}, finish_reason: 'stop' }], { usage: null });
const USAGE_ONLY = chunk([], { usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15, prompt_tokens_details: { cached_tokens: 8 } } });
const EXPECTED: TokenUsage = { inputTokens: 12, cachedInputTokens: 8, outputTokens: 3, model: 'llama3-3-70b' };

const chatStream = (eol: string): { full: string; hidden: string } => {
  const before = [': keep-alive', ''].join(eol) + eol + [ROLE, HELLO, STOP].map((d) => event(d, eol)).join('');
  const after = event('[DONE]', eol);
  return { full: before + event(USAGE_ONLY, eol) + after, hidden: before + after };
};

/** run feeds `pieces` to a fresh parser and returns the bytes it passed on, as text, with the parser. */
const run = (options: SseUsageOptions, pieces: readonly (string | Uint8Array)[]): { out: string; parser: SseUsageParser } => {
  const parser = new SseUsageParser(options);
  const outs = pieces.map((p) => parser.push(p));
  outs.push(parser.end());
  return { out: Buffer.concat(outs).toString('utf8'), parser };
};

/** everySplit yields the stream's bytes cut in two at every byte position, then one byte at a time. */
function* everySplit(text: string): Generator<Uint8Array[]> {
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i <= bytes.length; i++) yield [bytes.subarray(0, i), bytes.subarray(i)];
  yield Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
}

describe('SseUsageParser on chat/completions', () => {
  for (const [name, eol] of [['LF', '\n'], ['CRLF', '\r\n'], ['CR', '\r']] as const) {
    it(`passes every byte through and finds the usage at every split (${name})`, () => {
      const { full } = chatStream(eol);
      for (const pieces of everySplit(full)) {
        const { out, parser } = run({ route: 'chat/completions' }, pieces);
        expect(out).toBe(full);
        expect(parser.usage).toEqual(EXPECTED);
        expect(parser.usageFinal).toBe(true);
        expect(parser.contentSeen).toBe(true);
      }
    });

    it(`hides only the usage-only event at every split (${name})`, () => {
      const { full, hidden } = chatStream(eol);
      for (const pieces of everySplit(full)) {
        const { out, parser } = run({ route: 'chat/completions', hideUsageChunk: true }, pieces);
        expect(out).toBe(hidden);
        expect(parser.usage).toEqual(EXPECTED);
      }
    });
  }

  it('accepts string chunks split at every character', () => {
    const { full, hidden } = chatStream('\r\n');
    const chars = Array.from(full); // code points: a string cannot hold half a surrogate pair as UTF-8
    for (let i = 0; i <= chars.length; i++) {
      const pieces = [chars.slice(0, i).join(''), chars.slice(i).join('')];
      expect(run({ route: 'chat/completions', hideUsageChunk: true }, pieces).out).toBe(hidden);
    }
  });

  it('keeps the usage chunk when the caller asked for it', () => {
    const { full } = chatStream('\n');
    expect(run({ route: 'chat/completions', hideUsageChunk: false }, [full]).out).toBe(full);
  });

  it('joins multi-line data and ignores comments, ids and unknown fields', () => {
    const body = JSON.stringify(JSON.parse(USAGE_ONLY), null, 1).split('\n');
    const multi = `id: 7\nevent: message\n: a comment\nretry: 100\n${body.map((l) => `data:${l}`).join('\n')}\n\n`;
    const stream = event(HELLO) + multi + event('[DONE]');
    const { out, parser } = run({ route: 'chat/completions', hideUsageChunk: true }, [stream]);
    expect(parser.usage).toEqual(EXPECTED);
    expect(out).toBe(event(HELLO) + event('[DONE]'));
  });

  it('does not count a role-only first delta as content, but counts tool calls', () => {
    expect(run({ route: 'chat/completions' }, [event(ROLE)]).parser.contentSeen).toBe(false);
    const tool = chunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { name: 'f', arguments: '' } }] } }]);
    expect(run({ route: 'chat/completions' }, [event(tool)]).parser.contentSeen).toBe(true);
    const reasoning = chunk([{ index: 0, delta: { reasoning_content: 'thinking' } }]);
    expect(run({ route: 'chat/completions' }, [event(reasoning)]).parser.contentSeen).toBe(true);
  });

  it('counts the content events that passed, a floor for charging a cut stream, and reports the count as it grows', async () => {
    const stream = [ROLE, HELLO, HELLO, STOP, HELLO].map((d) => event(d)).join(''); // cut: no usage, no [DONE]
    expect(run({ route: 'chat/completions' }, [stream]).parser.contentEvents).toBe(3);
    const counts: number[] = [];
    const tap = createSseUsageTransform({ route: 'chat/completions', onContentEvents: (n) => counts.push(n) }, () => undefined);
    const done = pipeline(Readable.from([event(ROLE), event(HELLO), event(STOP), event(HELLO) + event(HELLO)]), tap, async (source: AsyncIterable<Buffer>) => {
      for await (const part of source) expect(part.length).toBeGreaterThan(0);
    });
    await expect(done).rejects.toBeInstanceOf(IncompleteAnswerError);
    expect(counts).toEqual([1, 3]);
  });

  it('keeps the last usage when every chunk reports one, without calling it final', () => {
    const first = chunk([{ index: 0, delta: { content: 'a' } }], { usage: { prompt_tokens: 5, completion_tokens: 1 } });
    const second = chunk([{ index: 0, delta: { content: 'b' } }], { usage: { prompt_tokens: 5, completion_tokens: 2 } });
    const stream = event(first) + event(second) + event('[DONE]');
    const { out, parser } = run({ route: 'chat/completions', hideUsageChunk: true }, [stream]);
    expect(out).toBe(stream);
    expect(parser.usage).toEqual({ inputTokens: 5, cachedInputTokens: 0, outputTokens: 2, model: 'llama3-3-70b' });
    expect(parser.usageFinal).toBe(false);
  });

  it('passes malformed events through untouched', () => {
    const stream = 'data: {not json\n\ndata: [1,2]\n\ndata: {"choices":"x","usage":"y"}\n\nevent: only\n\n\n\ndata\n\n';
    const { out, parser } = run({ route: 'chat/completions', hideUsageChunk: true }, [stream]);
    expect(out).toBe(stream);
    expect(parser.usage).toBeUndefined();
    expect(parser.contentSeen).toBe(false);
  });

  it('reads an unterminated last event at the end, and hides it if it is the usage chunk', () => {
    const stream = event(HELLO) + `data: ${USAGE_ONLY}`;
    const kept = run({ route: 'chat/completions' }, [stream]);
    expect(kept.out).toBe(stream);
    expect(kept.parser.usage).toEqual(EXPECTED);
    expect(run({ route: 'chat/completions', hideUsageChunk: true }, [stream]).out).toBe(event(HELLO));
  });

  it('passes events larger than maxEventBytes through unread', () => {
    const stream = event(HELLO) + event(USAGE_ONLY) + event('[DONE]');
    const { out, parser } = run({ route: 'chat/completions', hideUsageChunk: true, maxEventBytes: 200 }, [stream]);
    expect(out).toBe(stream);
    expect(parser.usage).toBeUndefined();
    expect(parser.contentSeen).toBe(true);
  });

  it('releases a large content event early when hiding, byte-identical', () => {
    const big = chunk([{ index: 0, delta: { content: 'x'.repeat(200_000) } }]);
    const stream = event(big) + event(USAGE_ONLY) + event('[DONE]');
    const parser = new SseUsageParser({ route: 'chat/completions', hideUsageChunk: true });
    const firstHalf = parser.push(stream.slice(0, 100_000));
    expect(firstHalf.length).toBeGreaterThan(0);
    const rest = Buffer.concat([parser.push(stream.slice(100_000)), parser.end()]);
    expect(Buffer.concat([firstHalf, rest]).toString()).toBe(event(big) + event('[DONE]'));
  });

  it('reads legacy completions text as content', () => {
    const text = JSON.stringify({ object: 'text_completion', model: 'm', choices: [{ index: 0, text: 'Hi' }] });
    const usage = JSON.stringify({ object: 'text_completion', model: 'm', choices: [], usage: { prompt_tokens: 2, completion_tokens: 1 } });
    const { out, parser } = run({ route: 'completions', hideUsageChunk: true }, [event(text) + event(usage) + event('[DONE]')]);
    expect(out).toBe(event(text) + event('[DONE]'));
    expect(parser.contentSeen).toBe(true);
    expect(parser.usage).toEqual({ inputTokens: 2, cachedInputTokens: 0, outputTokens: 1, model: 'm' });
  });
});

describe('SseUsageParser on responses', () => {
  const responseEvent = (type: string, payload: Record<string, unknown>): string =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...payload })}\n\n`;
  const usage = { input_tokens: 40, input_tokens_details: { cached_tokens: 32 }, output_tokens: 9, total_tokens: 49 };
  const stream = [
    responseEvent('response.created', { response: { id: 'resp_1', model: 'gpt-oss-120b', usage: null } }),
    responseEvent('response.output_item.added', { output_index: 0, item: { type: 'message' } }),
    responseEvent('response.output_text.delta', { output_index: 0, delta: 'Grüße' }),
    responseEvent('response.output_text.done', { output_index: 0, text: 'Grüße' }),
    responseEvent('response.completed', { response: { id: 'resp_1', model: 'gpt-oss-120b', status: 'completed', usage } }),
  ].join('');
  const expected: TokenUsage = { inputTokens: 40, cachedInputTokens: 32, outputTokens: 9, model: 'gpt-oss-120b' };

  it('finds the usage in response.completed at every split and never hides anything', () => {
    for (const pieces of everySplit(stream)) {
      const { out, parser } = run({ route: 'responses', hideUsageChunk: true }, pieces);
      expect(out).toBe(stream);
      expect(parser.usage).toEqual(expected);
      expect(parser.usageFinal).toBe(true);
      expect(parser.contentSeen).toBe(true);
    }
  });

  it('counts content only from non-empty delta events', () => {
    const lifecycle = stream.split('event: response.output_text.delta')[0] ?? '';
    expect(run({ route: 'responses' }, [lifecycle]).parser.contentSeen).toBe(false);
  });

  it('meters an incomplete response too', () => {
    const incomplete = responseEvent('response.incomplete', { response: { model: 'm', status: 'incomplete', usage } });
    expect(run({ route: 'responses' }, [incomplete]).parser.usage).toEqual({ ...expected, model: 'm' });
  });

  it('names the event from the event field when the data has no type', () => {
    const bare = `event: response.completed\ndata: ${JSON.stringify({ response: { usage } })}\n\n`;
    expect(run({ route: 'responses' }, [bare]).parser.usage).toEqual({ inputTokens: 40, cachedInputTokens: 32, outputTokens: 9 });
  });
});

describe('createSseUsageTransform', () => {
  const collect = async (options: Parameters<typeof createSseUsageTransform>[0], pieces: string[], onUsage: (u: TokenUsage) => void): Promise<string> => {
    const outs: Buffer[] = [];
    await pipeline(Readable.from(pieces.map((p) => Buffer.from(p))), createSseUsageTransform(options, onUsage), async (source: AsyncIterable<Buffer>) => {
      for await (const b of source) outs.push(b);
    });
    return Buffer.concat(outs).toString('utf8');
  };

  it('reports usage and first content once, hiding the usage chunk', async () => {
    const { full, hidden } = chatStream('\n');
    const usages: TokenUsage[] = [];
    let firstContent = 0;
    const pieces = full.match(/[\s\S]{1,7}/g) ?? [];
    const out = await collect({ route: 'chat/completions', hideUsageChunk: true, onFirstContent: () => { firstContent++; } }, pieces, (u) => usages.push(u));
    expect(out).toBe(hidden);
    expect(usages).toEqual([EXPECTED]);
    expect(firstContent).toBe(1);
  });

  it('reports the usage as soon as the final usage event passes', async () => {
    const { full } = chatStream('\n');
    const [head = '', tail = ''] = full.split('data: [DONE]');
    const transform = createSseUsageTransform({ route: 'chat/completions' }, (u) => { seen.push(u); });
    const seen: TokenUsage[] = [];
    transform.write(head);
    expect(seen).toEqual([EXPECTED]);
    transform.end(`data: [DONE]${tail}`);
    transform.resume();
    await new Promise((resolve) => transform.on('end', resolve));
    expect(seen).toHaveLength(1);
  });

  it('reports non-final usage at the end of the stream', async () => {
    const only = chunk([{ index: 0, delta: { content: 'a' } }], { usage: { prompt_tokens: 1, completion_tokens: 1 } });
    const usages: TokenUsage[] = [];
    await collect({ route: 'chat/completions' }, [event(only), event('[DONE]')], (u) => usages.push(u));
    expect(usages).toEqual([{ inputTokens: 1, cachedInputTokens: 0, outputTokens: 1, model: 'llama3-3-70b' }]);
  });

  it('fails a stream that ends without [DONE], after reporting the usage that passed', async () => {
    const only = chunk([{ index: 0, delta: { content: 'a' } }], { usage: { prompt_tokens: 1, completion_tokens: 1 } });
    const usages: TokenUsage[] = [];
    const failure = await collect({ route: 'chat/completions' }, [event(only)], (u) => usages.push(u)).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(IncompleteAnswerError);
    expect(failure).toMatchObject({ reason: 'missing_final_event', status: 502 });
    expect(usages).toHaveLength(1);
  });

  it('needs the final event dispatched: [DONE] without its blank line, or a responses stream ending in [DONE], is short', async () => {
    await expect(collect({ route: 'chat/completions' }, [event(HELLO), 'data: [DONE]\n'], () => undefined)).rejects.toThrow(IncompleteAnswerError);
    await expect(collect({ route: 'responses' }, [event('[DONE]')], () => undefined)).rejects.toThrow(/responses event stream ended without its final event/);
    for (const type of ['response.completed', 'response.incomplete', 'response.failed', 'error']) {
      await expect(collect({ route: 'responses' }, [`event: ${type}\ndata: ${JSON.stringify({ type })}\n\n`], () => undefined)).resolves.toContain(type);
    }
  });

  it('does not call onUsage for a stream without usage', async () => {
    const usages: TokenUsage[] = [];
    await collect({ route: 'chat/completions' }, [event(HELLO), event('[DONE]')], (u) => usages.push(u));
    expect(usages).toEqual([]);
  });

  it('fails the stream when a callback throws', async () => {
    const { full } = chatStream('\n');
    await expect(collect({ route: 'chat/completions' }, [full], () => { throw new Error('boom'); })).rejects.toThrow('boom');
  });
});
