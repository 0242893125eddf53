import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI, { toFile } from 'openai';
import { startEnclaveSimulator, type EnclaveSimulator } from './index.ts';

// The official SDK parses every shape the simulator produces (plaintext: the SDK does not speak EHBP).
let sim: EnclaveSimulator;
let client: OpenAI;

beforeAll(async () => {
  sim = await startEnclaveSimulator({ apiKey: 'sk-sim', completionTexts: { '*': 'red green blue' } });
  client = new OpenAI({ apiKey: 'sk-sim', baseURL: `${sim.url}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await sim.close();
});

describe('the openai SDK against the simulator', () => {
  it('reads chat completions, plain and streamed with usage', async () => {
    const plain = await client.chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'a b c' }] });
    expect(plain.choices[0]?.message.content).toBe('red green blue');
    expect(plain.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 });
    const stream = await client.chat.completions.create({
      model: 'llama3-3-70b',
      messages: [{ role: 'user', content: 'a b c' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('red green blue');
    expect(usage).toMatchObject({ total_tokens: 6 });
  });

  it('reads responses, embeddings (base64 by default), transcriptions and models', async () => {
    const response = await client.responses.create({ model: 'gpt-oss-120b', input: 'hi there' });
    expect(response.output_text).toBe('red green blue');
    expect(response.usage?.input_tokens).toBe(2);
    const streamed = await client.responses.create({ model: 'gpt-oss-120b', input: 'hi', stream: true });
    const types: string[] = [];
    for await (const event of streamed) types.push(event.type);
    expect(types.at(0)).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    const embedding = await client.embeddings.create({ model: 'nomic-embed-text', input: 'hello' });
    expect(embedding.data[0]?.embedding).toHaveLength(16);
    const transcript = await client.audio.transcriptions.create({ model: 'whisper-large-v3-turbo', file: await toFile(Buffer.alloc(10), 'a.wav') });
    expect(transcript.text).toBe('red green blue');
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    expect(models).toContain('llama3-3-70b');
  });
});
