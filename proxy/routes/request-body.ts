import busboy from 'busboy';
import { ProxyError } from '../errors.ts';
import type { RouteSpec } from './catalogue.ts';

/** PlainRequest is a plaintext request body as the proxy understood it. */
export interface PlainRequest {
  /** json is the parsed body of JSON routes (an object), undefined for others. */
  readonly json?: Record<string, unknown>;
  readonly model?: string;
  readonly stream: boolean;
}

function parseJsonObject(body: Buffer): Record<string, unknown> {
  if (body.length === 0) throw new ProxyError('invalid_request', 'the request body is empty; a JSON object is required');
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new ProxyError('invalid_json', `the request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProxyError('invalid_request', 'the request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

/** multipartModel reads the `model` field of a multipart/form-data body (audio uploads). */
function multipartModel(body: Buffer, contentType: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let model: string | undefined;
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: { 'content-type': contentType }, limits: { fieldSize: 1024, fields: 64 } });
    } catch (error) {
      reject(new ProxyError('unsupported_media_type', `expected multipart/form-data: ${(error as Error).message}`));
      return;
    }
    parser.on('field', (name, value) => {
      if (name === 'model') model = value;
    });
    parser.on('file', (_name, stream) => stream.resume());
    parser.on('error', (error: Error) => {
      reject(new ProxyError('invalid_request', `the multipart body is malformed: ${error.message}`));
    });
    parser.on('close', () => {
      resolve(model);
    });
    parser.end(body);
  });
}

/**
 * readPlainRequest parses what the proxy must see of a plaintext request: the JSON object (so the
 * body can be shaped) or the model field of a form. It fails with an OpenAI-style error naming the
 * problem; the body is never logged.
 */
export async function readPlainRequest(spec: RouteSpec, body: Buffer | undefined, contentType: string | undefined): Promise<PlainRequest> {
  if (spec.body === 'none') return { stream: false };
  if (spec.body === 'multipart') {
    const model = await multipartModel(body ?? Buffer.alloc(0), contentType ?? '');
    if (model === undefined || model === '') throw new ProxyError('invalid_request', 'the form has no `model` field', { param: 'model' });
    return { model, stream: false };
  }
  const json = parseJsonObject(body ?? Buffer.alloc(0));
  if (typeof json.model !== 'string' || json.model === '') {
    throw new ProxyError('invalid_request', 'you must provide a model parameter (a non-empty string)', { param: 'model' });
  }
  return { json, model: json.model, stream: json.stream === true };
}
