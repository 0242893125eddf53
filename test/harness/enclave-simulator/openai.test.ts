import { describe, expect, it } from 'vitest';
import { parseMultipart } from './multipart.ts';
import { chatCompletion, completion } from './openai-chat.ts';
import { DEFAULT_DIMENSIONS, embeddings, transcription } from './openai-misc.ts';
import { response } from './openai-responses.ts';
import { defaultCompletionText, usageMetricsValue, type ReplyContext, type ReplySettings, type SimulatedResponse } from './reply.ts';

const settings = (patch: Partial<ReplySettings> = {}): ReplySettings => ({ completionTexts: {}, usage: {}, ...patch });
const ctx = (patch: Partial<ReplySettings> = {}): ReplyContext => ({ settings: settings(patch), id: 'sim7', created: 1_700_000_000 });
const messages = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: [{ type: 'text', text: 'Say hello to the enclave' }] },
];

function json(answer: SimulatedResponse): Record<string, unknown> {
  if (answer.kind !== 'document') throw new Error('expected a document');
  return JSON.parse(answer.body) as Record<string, unknown>;
}

function events(answer: SimulatedResponse): string[] {
  if (answer.kind !== 'stream') throw new Error('expected a stream');
  return [...answer.events];
}

const dataOf = (event: string): unknown => JSON.parse(event.replace(/^(event: .*\n)?data: /, '')) as unknown;

describe('chat completions', () => {
  it('answers the fixed text with word-count usage', () => {
    const answer = chatCompletion(ctx(), { model: 'llama3-3-70b', messages });
    const body = json(answer);
    expect(body).toMatchObject({
      id: 'chatcmpl-sim7',
      object: 'chat.completion',
      created: 1_700_000_000,
      choices: [{ index: 0, message: { role: 'assistant', content: defaultCompletionText('llama3-3-70b') }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 7, completion_tokens: 8, total_tokens: 15, prompt_tokens_details: { cached_tokens: 0 } },
    });
    expect(answer.kind === 'document' ? answer.usage : undefined).toEqual({ model: 'llama3-3-70b', promptTokens: 7, cachedPromptTokens: 0, completionTokens: 8 });
  });

  it('streams one chunk per word, the finish chunk, the usage-only chunk and [DONE]', () => {
    const stream = events(chatCompletion(ctx({ completionTexts: { '*': 'Hello there friend' } }), { model: 'm', messages, stream: true, stream_options: { include_usage: true } }));
    expect(stream).toHaveLength(7);
    expect(stream.at(-1)).toBe('data: [DONE]\n\n');
    const chunks = stream.slice(0, -1).map(dataOf) as { choices: { delta: { content?: string }; finish_reason: string | null }[]; usage: unknown }[];
    expect(chunks.slice(1, 4).map((c) => c.choices[0]?.delta.content)).toEqual(['Hello', ' there', ' friend']);
    expect(chunks[4]?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.slice(0, 5).every((c) => c.usage === null)).toBe(true);
    expect(chunks[5]).toMatchObject({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } });
  });

  it('sends no usage chunk unless asked, and stops at max_tokens', () => {
    const stream = events(chatCompletion(ctx(), { model: 'm', messages, stream: true, max_tokens: 2 }));
    expect(stream.some((e) => e.includes('"usage"'))).toBe(false);
    expect(json(chatCompletion(ctx(), { model: 'm', messages, max_completion_tokens: 2 }))).toMatchObject({
      choices: [{ message: { content: 'This is' }, finish_reason: 'length' }],
      usage: { completion_tokens: 2 },
    });
  });

  it('applies usage overrides, cached tokens capped at the prompt', () => {
    const answer = chatCompletion(ctx({ usage: { promptTokens: 100, cachedTokens: 40, completionTokens: 5 } }), { model: 'm', messages });
    expect(json(answer)).toMatchObject({ usage: { prompt_tokens: 100, completion_tokens: 5, total_tokens: 105, prompt_tokens_details: { cached_tokens: 40 } } });
    const capped = chatCompletion(ctx({ usage: { cachedTokens: 1000 } }), { model: 'm', messages });
    expect(json(capped)).toMatchObject({ usage: { prompt_tokens_details: { cached_tokens: 7 } } });
  });

  it('refuses a request without a model or messages', () => {
    expect(chatCompletion(ctx(), { messages })).toMatchObject({ status: 400 });
    expect(chatCompletion(ctx(), { model: 'm' })).toMatchObject({ status: 400 });
  });
});

describe('legacy completions', () => {
  it('answers text_completion and streams it', () => {
    expect(json(completion(ctx({ completionTexts: { m: 'one two' } }), { model: 'm', prompt: ['a b', 'c'] }))).toMatchObject({
      object: 'text_completion',
      choices: [{ text: 'one two', finish_reason: 'stop' }],
      usage: { prompt_tokens: 3, completion_tokens: 2 },
    });
    const stream = events(completion(ctx({ completionTexts: { m: 'one two' } }), { model: 'm', prompt: [1, 2, 3, 4], stream: true, stream_options: { include_usage: true } }));
    expect(stream.slice(0, 2).map((e) => (dataOf(e) as { choices: { text: string }[] }).choices[0]?.text)).toEqual(['one', ' two']);
    expect(dataOf(stream.at(-2)!)).toMatchObject({ choices: [], usage: { prompt_tokens: 4, completion_tokens: 2 } });
  });
});

describe('responses', () => {
  it('answers a response object with input and output tokens', () => {
    const body = json(response(ctx({ usage: { cachedTokens: 2 } }), { model: 'gpt-oss-120b', instructions: 'Be kind', input: 'Hi there' }));
    expect(body).toMatchObject({
      id: 'resp_sim7',
      object: 'response',
      status: 'completed',
      output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: defaultCompletionText('gpt-oss-120b') }] }],
      usage: { input_tokens: 4, input_tokens_details: { cached_tokens: 2 }, output_tokens: 8, total_tokens: 12 },
    });
  });

  it('streams response.created, text deltas and response.completed with usage', () => {
    const stream = events(response(ctx({ completionTexts: { '*': 'A B' } }), { model: 'm', input: [{ role: 'user', content: 'x y z' }], stream: true }));
    expect(stream.map((e) => /^event: (.*)$/m.exec(e)?.[1])).toEqual([
      'response.created',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.completed',
    ]);
    expect(dataOf(stream[1]!)).toMatchObject({ delta: 'A', sequence_number: 1 });
    expect(dataOf(stream[4]!)).toMatchObject({ response: { status: 'completed', usage: { input_tokens: 3, output_tokens: 2 } } });
  });
});

describe('embeddings', () => {
  it('answers deterministic unit vectors, as floats or base64 float32', () => {
    const floats = json(embeddings(ctx(), { model: 'nomic-embed-text', input: ['hello world', 'hello'] })) as { data: { embedding: number[] }[]; usage: unknown };
    expect(floats.data).toHaveLength(2);
    expect(floats.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    const first = floats.data[0]!.embedding;
    expect(first).toHaveLength(DEFAULT_DIMENSIONS);
    expect(Math.hypot(...first)).toBeCloseTo(1, 5);
    const again = json(embeddings(ctx(), { model: 'nomic-embed-text', input: 'hello world', encoding_format: 'base64', dimensions: DEFAULT_DIMENSIONS })) as { data: { embedding: string }[] };
    const decoded = new Float32Array(Uint8Array.from(Buffer.from(again.data[0]!.embedding, 'base64')).buffer);
    expect(Array.from(decoded)).toEqual(first);
  });
});

describe('transcriptions', () => {
  it('reads a multipart form and answers the model text', async () => {
    const form = new FormData();
    form.set('model', 'whisper-large-v3-turbo');
    form.set('file', new Blob([new Uint8Array(2500)]), 'audio.wav');
    const request = new Request('http://x/', { method: 'POST', body: form });
    const parts = parseMultipart(Buffer.from(await request.arrayBuffer()), request.headers.get('content-type')!);
    expect(parts?.map((p) => [p.name, p.filename, p.data.length])).toEqual([
      ['model', undefined, 22],
      ['file', 'audio.wav', 2500],
    ]);
    expect(json(transcription(ctx({ completionTexts: { '*': 'spoken words' } }), parts!))).toMatchObject({ text: 'spoken words', usage: { input_tokens: 3, output_tokens: 2 } });
    expect(parseMultipart(Buffer.from('x'), 'application/json')).toBeUndefined();
  });
});

describe('usageMetricsValue', () => {
  it('formats the Tinfoil usage metrics, with the cache split only when cached tokens exist', () => {
    expect(usageMetricsValue({ model: 'm', promptTokens: 10, cachedPromptTokens: 0, completionTokens: 5 })).toBe('prompt=10,completion=5,total=15,model=m');
    expect(usageMetricsValue({ model: 'm', promptTokens: 10, cachedPromptTokens: 4, completionTokens: 5 })).toBe(
      'prompt=10,completion=5,total=15,cached_prompt_tokens=4,uncached_prompt_tokens=6,model=m',
    );
  });
});
