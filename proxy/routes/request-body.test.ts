import { describe, expect, it } from 'vitest';
import { ProxyError } from '../errors.ts';
import { ROUTES, type RouteSpec } from './catalogue.ts';
import { MAX_FORM_FIELDS, MAX_FORM_PARTS, readPlainRequest } from './request-body.ts';

const route = (path: string): RouteSpec => ROUTES.find((r) => r.path === path)!;
const CHAT = route('/v1/chat/completions');
const EMBEDDINGS = route('/v1/embeddings');
const AUDIO = route('/v1/audio/transcriptions');
const BOUNDARY = 'form-boundary-7MA4YWxk';
const FORM_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

/** formBody builds a multipart/form-data body: text fields, then an audio file part. */
function formBody(fields: readonly (readonly [string, string])[], file = true): Buffer {
  const parts = fields.map(([name, value]) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
  if (file) parts.push(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\nRIFF\r\n`);
  return Buffer.from(`${parts.join('')}--${BOUNDARY}--\r\n`);
}

const padding = (n: number): [string, string][] => Array.from({ length: n }, (_, i) => [`pad${String(i)}`, 'x']);

async function refusal(spec: RouteSpec, body: string | Buffer, contentType = 'application/json'): Promise<ProxyError> {
  const error: unknown = await readPlainRequest(spec, Buffer.from(body), contentType).then(() => new Error('expected a refusal'), (e: unknown) => e);
  if (!(error instanceof ProxyError)) throw error;
  return error;
}

describe('readPlainRequest: JSON bodies', () => {
  it('reads the model and a boolean stream', async () => {
    expect(await readPlainRequest(CHAT, Buffer.from('{"model":"m","stream":true}'), 'application/json')).toMatchObject({ model: 'm', stream: true });
    expect(await readPlainRequest(CHAT, Buffer.from('{"model":"m","stream":false}'), 'application/json')).toMatchObject({ stream: false });
    expect(await readPlainRequest(CHAT, Buffer.from('{"model":"m","stream":null}'), 'application/json')).toMatchObject({ stream: false });
    expect(await readPlainRequest(CHAT, Buffer.from('{"model":"m"}'), 'application/json')).toMatchObject({ stream: false });
  });

  it('refuses a stream that is not a boolean: lenient upstreams stream on "true" or 1, unmetered', async () => {
    for (const value of ['"true"', '1', '"yes"', '{}', '[true]']) {
      const error = await refusal(CHAT, `{"model":"m","stream":${value}}`);
      expect(error, value).toMatchObject({ code: 'invalid_type', status: 400, param: 'stream' });
      expect(error.message).toContain('`stream` must be a boolean');
    }
    expect(await refusal(EMBEDDINGS, '{"model":"m","input":"a","stream":"true"}')).toMatchObject({ code: 'invalid_type' });
  });

  it('refuses stream_options that is not an object, and an include_usage that is not a boolean', async () => {
    expect(await refusal(CHAT, '{"model":"m","stream":true,"stream_options":"x"}')).toMatchObject({ code: 'invalid_type', param: 'stream_options' });
    expect(await refusal(CHAT, '{"model":"m","stream":true,"stream_options":{"include_usage":"false"}}')).toMatchObject({
      code: 'invalid_type', param: 'stream_options.include_usage',
    });
  });

  it('refuses a duplicated model: JSON.parse keeps the last, other parsers the first', async () => {
    const error = await refusal(CHAT, '{"model":"allowed","messages":[],"model":"forbidden"}');
    expect(error).toMatchObject({ code: 'duplicate_field', status: 400, param: 'model' });
    expect(error.message).toContain('`model`');
  });

  it('refuses top-level keys differing only in case: case-insensitive decoders (Go encoding/json) may take either', async () => {
    expect(await refusal(CHAT, '{"model":"allowed","MODEL":"forbidden"}')).toMatchObject({ code: 'duplicate_field', param: 'MODEL' });
    expect(await refusal(CHAT, '{"model":"m","stream":false,"Stream":true}')).toMatchObject({ code: 'duplicate_field' });
  });

  it('refuses a key spelled twice through escapes', async () => {
    expect(await refusal(CHAT, '{"model":"allowed","mod\\u0065l":"forbidden"}')).toMatchObject({ code: 'duplicate_field', param: 'model' });
  });

  it('refuses a duplicated include_usage, which decides whether the proxy asks for usage', async () => {
    const body = '{"model":"m","stream":true,"stream_options":{"include_usage":false,"include_usage":true}}';
    expect(await refusal(CHAT, body)).toMatchObject({ code: 'duplicate_field', param: 'stream_options.include_usage' });
    expect(await refusal(CHAT, '{"model":"m","stream":true,"stream_options":{"include_usage":true,"Include_Usage":false}}')).toMatchObject({ code: 'duplicate_field' });
  });

  it('refuses a body that is not valid UTF-8, which parsers could decode to different names', async () => {
    const body = Buffer.concat([Buffer.from('{"model":"m","mod'), Buffer.from([0xff]), Buffer.from('el":"x"}')]);
    expect(await refusal(CHAT, body)).toMatchObject({ code: 'invalid_json', status: 400 });
  });

  it('keeps nested keys that differ only in case (a JSON schema may have such properties)', async () => {
    const body = '{"model":"m","response_format":{"type":"json_schema","json_schema":{"schema":{"properties":{"Name":{},"name":{}}}}}}';
    expect(await readPlainRequest(CHAT, Buffer.from(body), 'application/json')).toMatchObject({ model: 'm' });
  });
});

describe('readPlainRequest: multipart forms', () => {
  it('reads the model of an audio upload', async () => {
    expect(await readPlainRequest(AUDIO, formBody([['model', 'whisper'], ...padding(10)]), FORM_TYPE)).toEqual({ model: 'whisper', stream: false });
  });

  it('refuses a second model field: busboy keeps the last, an upstream may keep the first', async () => {
    const error = await refusal(AUDIO, formBody([['model', 'allowed'], ['model', 'forbidden']]), FORM_TYPE);
    expect(error).toMatchObject({ code: 'duplicate_field', status: 400, param: 'model' });
    expect(await refusal(AUDIO, formBody([['model', 'allowed'], ['MODEL', 'forbidden']]), FORM_TYPE)).toMatchObject({ code: 'duplicate_field' });
  });

  it('refuses the smuggle past the field limit (model=allowed, 70 padding fields, model=forbidden)', async () => {
    const error = await refusal(AUDIO, formBody([['model', 'allowed'], ...padding(70), ['model', 'forbidden']]), FORM_TYPE);
    expect(error).toMatchObject({ code: 'too_many_form_parts', status: 400 });
    expect(error.message).toContain(String(MAX_FORM_FIELDS));
  });

  it('refuses more parts than the limit, even if each is a file', async () => {
    const files = Array.from({ length: MAX_FORM_PARTS + 1 }, (_, i) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="f${String(i)}"; filename="a"\r\n\r\nx\r\n`);
    const body = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="model"\r\n\r\nm\r\n${files.join('')}--${BOUNDARY}--\r\n`);
    expect(await refusal(AUDIO, body, FORM_TYPE)).toMatchObject({ code: 'too_many_form_parts' });
  });

  it('refuses a model sent as a file part, and a model value longer than the proxy reads', async () => {
    const asFile = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="model"; filename="m"\r\n\r\nforbidden\r\n--${BOUNDARY}--\r\n`);
    expect(await refusal(AUDIO, Buffer.concat([formBody([['model', 'allowed']], false).subarray(0, -(BOUNDARY.length + 6)), asFile]), FORM_TYPE)).toMatchObject({ code: 'duplicate_field' });
    expect(await refusal(AUDIO, formBody([['model', `allowed${'x'.repeat(2000)}`]]), FORM_TYPE)).toMatchObject({ code: 'invalid_request', param: 'model' });
  });
});
