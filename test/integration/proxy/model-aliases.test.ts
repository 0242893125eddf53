import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { metricValue, simulatorConfig, startTestProxy, type TestProxy } from '../../harness/test-proxy.ts';

// simulatorConfig prices llama3-3-70b at 0.90 / 1.20 per million; the simulator answers 100 prompt
// and 50 completion tokens: ceil(100 × 0.9 + 50 × 1.2) = 150 micro-units.
const COST = 150;

describe('model aliases: names callers use for an upstream model', () => {
  let simulator: EnclaveSimulator;
  let proxy: TestProxy;
  let client: OpenAI;
  const sentModels = (): unknown[] => simulator.requests().filter((r) => r.path === '/v1/chat/completions').map((r) => (r.body as { model?: unknown } | undefined)?.model);

  beforeAll(async () => {
    simulator = await startEnclaveSimulator({ usage: { promptTokens: 100, completionTokens: 50 } });
    proxy = await startTestProxy(simulatorConfig(simulator, {
      models: { allowed: ['gpt-oss-120b', 'whisper-large-v3-turbo'], aliases: { fast: { model: 'llama3-3-70b' }, speech: { model: 'whisper-large-v3-turbo' } } },
    }));
    client = new OpenAI({ baseURL: `${proxy.apiUrl}/v1`, apiKey: 'caller', maxRetries: 0 });
  });
  afterAll(async () => {
    await proxy.close();
    await simulator.close();
  });

  it('sends a request for an alias upstream with the model it stands for, answered under the alias\'s name in metrics', async () => {
    const answer = await client.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.choices).toHaveLength(1);
    const streamed = await client.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'hi' }], stream: true });
    for await (const chunk of streamed) expect(chunk.object).toBe('chat.completion.chunk');
    expect(sentModels()).toEqual(['llama3-3-70b', 'llama3-3-70b']);
    const text = await proxy.metrics();
    expect(metricValue(text, 'attested_inference_requests_total', { route: 'chat/completions', model: 'fast', status_code: '200' })).toBe(2);
    // Priced as the model it stands for (the table names no price for the alias itself).
    expect(metricValue(text, 'attested_inference_cost_micros_total', { model: 'fast', currency: 'USD' })).toBe(2 * COST);
    const finished = proxy.logs().map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request finished').at(-1);
    expect(finished).toMatchObject({ model: 'fast', upstreamModel: 'llama3-3-70b' });
  });

  it('admits an alias whatever the allow-list, while the model it stands for stays refused by name', async () => {
    await expect(client.chat.completions.create({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    expect((await client.chat.completions.create({ model: 'gpt-oss-120b', messages: [{ role: 'user', content: 'hi' }] })).choices).toHaveLength(1);
  });

  it('lists the aliases beside the allowed models, and not the models behind them', async () => {
    const ids = (await client.models.list()).data.map((m) => m.id).sort();
    expect(ids).toEqual(['fast', 'gpt-oss-120b', 'speech', 'whisper-large-v3-turbo']);
  });

  it('refuses an alias in a form, which it would not rewrite, naming the model to use', async () => {
    const file = await toFile(Buffer.from('RIFF....WAVEfmt '), 'a.wav', { type: 'audio/wav' });
    await expect(client.audio.transcriptions.create({ model: 'speech', file })).rejects.toMatchObject({ status: 400, code: 'invalid_request', param: 'model' });
  });
});
