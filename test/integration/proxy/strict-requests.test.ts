import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { simulatorConfig, startTestProxy, type TestProxy } from '../../harness/test-proxy.ts';

interface Answer {
  readonly status: number;
  readonly error?: { code: string; message: string; type: string; param: string | null };
}

const ALLOWED = 'llama3-3-70b';
const FORBIDDEN = 'gpt-oss-120b';
const AUDIO = 'whisper-large-v3-turbo';
const BOUNDARY = 'strict-requests-boundary';

/** form builds a multipart transcription body from `fields` (in order) and one audio file. */
function form(fields: readonly (readonly [string, string])[]): Buffer {
  const parts = fields.map(([name, value]) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
  parts.push(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n${'a'.repeat(3000)}\r\n`);
  return Buffer.from(`${parts.join('')}--${BOUNDARY}--\r\n`);
}

async function post(url: string, body: string | Buffer, contentType = 'application/json'): Promise<Answer> {
  const response = await fetch(url, { method: 'POST', body, headers: { 'content-type': contentType } });
  const json = (await response.json()) as { error?: Answer['error'] };
  return { status: response.status, error: json.error };
}

describe('the proxy forwards only requests it read the way any upstream will', () => {
  let simulator: EnclaveSimulator;
  let proxy: TestProxy;
  const inference = (): number => simulator.requests().filter((r) => r.path.startsWith('/v1/')).length;

  beforeAll(async () => {
    simulator = await startEnclaveSimulator();
    proxy = await startTestProxy(simulatorConfig(simulator, { models: { allowed: [ALLOWED, AUDIO] } }));
  });
  afterAll(async () => {
    await proxy.close();
    await simulator.close();
  });

  /** refused posts `body` and expects a 400 with `code`, and that nothing reached the upstream. */
  const refused = async (path: string, body: string | Buffer, code: string, contentType?: string): Promise<Answer> => {
    const before = inference();
    const answer = await post(`${proxy.apiUrl}${path}`, body, contentType);
    expect(answer.status).toBe(400);
    expect(answer.error).toMatchObject({ code, type: 'invalid_request_error' });
    expect(inference()).toBe(before);
    return answer;
  };

  it('a well-formed stream and transcription still pass', async () => {
    const chat = await fetch(`${proxy.apiUrl}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: ALLOWED, messages: [{ role: 'user', content: 'a b' }], stream: true }),
    });
    expect(chat.status).toBe(200);
    await chat.text();
    const audio = await fetch(`${proxy.apiUrl}/v1/audio/transcriptions`, {
      method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, body: form([['model', AUDIO]]),
    });
    expect(audio.status).toBe(200);
  });

  it('"stream": "true" → 400 invalid_type naming stream (a lenient upstream would stream it unmetered)', async () => {
    const body = JSON.stringify({ model: ALLOWED, messages: [{ role: 'user', content: 'hi' }], stream: 'true' });
    const answer = await refused('/v1/chat/completions', body, 'invalid_type');
    expect(answer.error?.param).toBe('stream');
    await refused('/v1/completions', JSON.stringify({ model: ALLOWED, prompt: 'hi', stream: 1 }), 'invalid_type');
  });

  it('the multipart smuggle (model=allowed, 70 padding fields, model=forbidden) → 400, nothing sent', async () => {
    const padding = Array.from({ length: 70 }, (_, i): [string, string] => [`pad${String(i)}`, 'x']);
    const answer = await refused('/v1/audio/transcriptions', form([['model', AUDIO], ...padding, ['model', FORBIDDEN]]), 'too_many_form_parts', `multipart/form-data; boundary=${BOUNDARY}`);
    expect(answer.error?.message).toContain('more than 64 fields');
  });

  it('a form with model=forbidden then model=allowed (the proxy read the last, the upstream the first) → 400, nothing sent', async () => {
    const answer = await refused('/v1/audio/transcriptions', form([['model', FORBIDDEN], ['model', AUDIO]]), 'duplicate_field', `multipart/form-data; boundary=${BOUNDARY}`);
    expect(answer.error?.param).toBe('model');
  });

  it('{"model":"allowed","MODEL":"forbidden"} and a duplicated model → 400 duplicate_field, nothing sent', async () => {
    const messages = '"messages":[{"role":"user","content":"hi"}]';
    const folded = await refused('/v1/chat/completions', `{"model":"${ALLOWED}","MODEL":"${FORBIDDEN}",${messages}}`, 'duplicate_field');
    expect(folded.error?.param).toBe('MODEL');
    const twice = await refused('/v1/chat/completions', `{"model":"${FORBIDDEN}",${messages},"model":"${ALLOWED}"}`, 'duplicate_field');
    expect(twice.error?.param).toBe('model');
    expect(twice.error?.message).toContain('`model` more than once');
  });

  it('a duplicated include_usage → 400, so a streamed request cannot turn usage off behind the proxy\'s back', async () => {
    const body = `{"model":"${ALLOWED}","messages":[],"stream":true,"stream_options":{"include_usage":false,"include_usage":true}}`;
    expect((await refused('/v1/chat/completions', body, 'duplicate_field')).error?.param).toBe('stream_options.include_usage');
  });
});

describe('the model label stays bounded whatever models callers name', () => {
  let simulator: EnclaveSimulator;
  let proxy: TestProxy;
  beforeAll(async () => {
    simulator = await startEnclaveSimulator();
    proxy = await startTestProxy(simulatorConfig(simulator)); // no allow-list; llama3-3-70b is priced
  });
  afterAll(async () => {
    await proxy.close();
    await simulator.close();
  });

  it('100 random model names leave one `other` series beside the priced model', async () => {
    const names = Array.from({ length: 100 }, () => `model-${randomUUID()}`);
    for (const model of [ALLOWED, ...names]) {
      const response = await fetch(`${proxy.apiUrl}/v1/chat/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
      });
      await response.arrayBuffer();
    }
    const text = await proxy.metrics();
    const series = text.split('\n').filter((l) => l.startsWith('attested_inference_requests_total{'));
    const models = new Set(series.map((l) => /model="([^"]*)"/.exec(l)?.[1]));
    expect(models).toEqual(new Set([ALLOWED, 'other']));
    for (const name of names) expect(text).not.toContain(name);
  });
});
