import busboy from 'busboy';
import { ProxyError } from '../errors.ts';
import type { RouteSpec } from './catalogue.ts';
import { findKeyConflict, type KeyConflict } from './json-keys.ts';

/** PlainRequest is a plaintext request body as the proxy understood it. */
export interface PlainRequest {
  /** json is the parsed body of JSON routes (an object), undefined for others. */
  readonly json?: Record<string, unknown>;
  readonly model?: string;
  readonly stream: boolean;
}

/** MAX_FORM_FIELDS and MAX_FORM_PARTS bound what the proxy reads of a form; a larger form is refused, not read in part. */
export const MAX_FORM_FIELDS = 64;
export const MAX_FORM_PARTS = 72;
/** MAX_FORM_MODEL_BYTES bounds the `model` field; a longer one is refused rather than read truncated. */
const MAX_FORM_MODEL_BYTES = 1024;

// Objects whose names the proxy reads: there, names differing only in case are refused too, because
// Go's encoding/json (and other case-insensitive decoders) would match either of them.
const CASE_FOLDED_PATHS: ReadonlySet<string> = new Set(['', 'stream_options']);

function conflictError(conflict: KeyConflict): ProxyError {
  const param = conflict.path === '' ? conflict.key : `${conflict.path}.${conflict.key}`;
  const how = conflict.kind === 'duplicate' ? 'more than once' : 'more than once (names differing only in case)';
  return new ProxyError('duplicate_field', `the request body names \`${param}\` ${how}; send each field once`, { param });
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function parseJsonObject(body: Buffer): Record<string, unknown> {
  if (body.length === 0) throw new ProxyError('invalid_request', 'the request body is empty; a JSON object is required');
  let value: unknown;
  let text: string;
  try {
    // Strict UTF-8 (RFC 8259 §8.1): a lenient decode would replace bad bytes that an upstream may
    // decode otherwise, so the proxy would check a different name or model than the one sent on.
    text = STRICT_UTF8.decode(body);
    value = JSON.parse(text);
  } catch (error) {
    throw new ProxyError('invalid_json', `the request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProxyError('invalid_request', 'the request body must be a JSON object');
  }
  const conflict = findKeyConflict(text, (path) => CASE_FOLDED_PATHS.has(path));
  if (conflict !== undefined) throw conflictError(conflict);
  return value as Record<string, unknown>;
}

/**
 * streamFlag reads `stream` and checks the fields the proxy acts on when a request streams. They
 * must have their documented types: a lenient upstream streams on `"stream": "true"` or `1`, which
 * the proxy, not seeing `true`, would not ask usage for, and so could not meter.
 */
function streamFlag(json: Record<string, unknown>): boolean {
  const { stream, stream_options: options } = json;
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') {
    throw new ProxyError('invalid_type', `\`stream\` must be a boolean, not ${typeName(stream)}`, { param: 'stream' });
  }
  if (options !== undefined && options !== null && (typeof options !== 'object' || Array.isArray(options))) {
    throw new ProxyError('invalid_type', `\`stream_options\` must be an object, not ${typeName(options)}`, { param: 'stream_options' });
  }
  const includeUsage = (options as Record<string, unknown> | null | undefined)?.include_usage;
  if (includeUsage !== undefined && includeUsage !== null && typeof includeUsage !== 'boolean') {
    throw new ProxyError('invalid_type', `\`stream_options.include_usage\` must be a boolean, not ${typeName(includeUsage)}`, { param: 'stream_options.include_usage' });
  }
  return stream === true;
}

function typeName(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** FormModel collects the `model` field of a form, refusing what an upstream could read otherwise. */
class FormModel {
  value: string | undefined;
  problem: ProxyError | undefined;

  field(name: string, value: string, truncated: boolean): void {
    if (name.toLowerCase() !== 'model') return;
    if (this.value !== undefined) this.fail(new ProxyError('duplicate_field', 'the form has more than one `model` field; send it once', { param: 'model' }));
    if (truncated) this.fail(new ProxyError('invalid_request', `the form's \`model\` is longer than ${String(MAX_FORM_MODEL_BYTES)} bytes`, { param: 'model' }));
    this.value = value;
  }

  file(name: string): void {
    if (name.toLowerCase() === 'model') this.fail(new ProxyError('duplicate_field', 'the form sends `model` as a file; send it once, as a field', { param: 'model' }));
  }

  fail(error: ProxyError): void {
    this.problem ??= error;
  }
}

/**
 * multipartModel reads the `model` field of a multipart/form-data body (audio uploads). The form
 * is refused when the proxy cannot be sure it read the `model` the upstream will: a second one (in
 * any case, or as a file part; busboy keeps the last, an upstream may keep the first), a truncated
 * one, or more fields or parts than busboy is allowed to read (it would ignore the rest silently).
 */
function multipartModel(body: Buffer, contentType: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const model = new FormModel();
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: { 'content-type': contentType }, limits: { fieldSize: MAX_FORM_MODEL_BYTES, fields: MAX_FORM_FIELDS, parts: MAX_FORM_PARTS } });
    } catch (error) {
      reject(new ProxyError('unsupported_media_type', `expected multipart/form-data: ${(error as Error).message}`));
      return;
    }
    parser.on('field', (name, value, info) => model.field(name, value, info.valueTruncated || info.nameTruncated));
    parser.on('file', (name, stream) => {
      model.file(name);
      stream.resume();
    });
    parser.on('fieldsLimit', () => model.fail(new ProxyError('too_many_form_parts', `the form has more than ${String(MAX_FORM_FIELDS)} fields`)));
    parser.on('partsLimit', () => model.fail(new ProxyError('too_many_form_parts', `the form has more than ${String(MAX_FORM_PARTS)} parts`)));
    parser.on('error', (error: Error) => {
      reject(new ProxyError('invalid_request', `the multipart body is malformed: ${error.message}`));
    });
    parser.on('close', () => {
      if (model.problem === undefined) resolve(model.value);
      else reject(model.problem);
    });
    parser.end(body);
  });
}

/**
 * readPlainRequest parses what the proxy must see of a plaintext request: the JSON object (so the
 * body can be shaped) or the model field of a form. It fails with an OpenAI-style error naming the
 * problem; the body is never logged. A body is refused when another parser could read it
 * differently (a name given twice, a `stream` that is not a boolean, a form larger than the proxy
 * reads), so that what the proxy checks is what the upstream gets.
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
  return { json, model: json.model, stream: streamFlag(json) };
}
