import { Readable } from 'node:stream';
import type { ProviderResponse } from '../upstream/provider.ts';

const MAX_MODEL_LIST = 4 * 1024 * 1024;

/**
 * filterModelList narrows an upstream's `GET /v1/models` answer to the endpoint's allow-list, so
 * callers see only models they may use. Other answers (errors, client-sealed) pass unchanged.
 */
export async function filterModelList(response: ProviderResponse, allowed: readonly string[]): Promise<ProviderResponse> {
  if (allowed.length === 0 || response.mode === 'passthrough' || response.status !== 200) return response;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_MODEL_LIST) throw new Error('the upstream model list is too large');
    chunks.push(chunk);
  }
  let list: { data?: { id?: unknown }[] };
  try {
    list = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof list;
  } catch {
    return { ...response, body: Readable.from([Buffer.concat(chunks)]) };
  }
  const filtered = { ...list, data: (list.data ?? []).filter((m) => typeof m.id === 'string' && allowed.includes(m.id)) };
  const headers = { ...response.headers };
  delete headers['content-length'];
  return { ...response, headers, body: Readable.from([Buffer.from(JSON.stringify(filtered))]) };
}
