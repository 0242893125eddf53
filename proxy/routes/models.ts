import { Readable } from 'node:stream';
import type { ModelAliases } from '../config/aliases.ts';
import type { ProviderResponse } from '../upstream/provider.ts';

const MAX_MODEL_LIST = 4 * 1024 * 1024;

type ModelEntry = { id?: unknown } & Record<string, unknown>;

/**
 * listedModels is what callers see of the upstream's models: those on the allow-list (all when it
 * is empty), then each alias whose model the upstream lists, as a copy of that model's entry under
 * the alias's name.
 */
function listedModels(data: readonly ModelEntry[], allowed: readonly string[], aliases: ModelAliases): ModelEntry[] {
  const kept = data.filter((m) => typeof m.id === 'string' && (allowed.length === 0 || allowed.includes(m.id)));
  const byId = new Map(data.filter((m) => typeof m.id === 'string').map((m) => [m.id as string, m]));
  const aliased = Object.entries(aliases).flatMap(([alias, target]) => {
    const entry = byId.get(target.model);
    return entry === undefined ? [] : [{ ...entry, id: alias }];
  });
  return [...kept, ...aliased];
}

/**
 * filterModelList narrows an upstream's `GET /v1/models` answer to the endpoint's allow-list and
 * adds its aliases, so callers see exactly the names they may use. Other answers (errors,
 * client-sealed) pass unchanged.
 */
export async function filterModelList(response: ProviderResponse, allowed: readonly string[], aliases: ModelAliases = {}): Promise<ProviderResponse> {
  const shaping = allowed.length > 0 || Object.keys(aliases).length > 0;
  if (!shaping || response.mode === 'passthrough' || response.status !== 200) return response;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_MODEL_LIST) throw new Error('the upstream model list is too large');
    chunks.push(chunk);
  }
  let list: { data?: ModelEntry[] };
  try {
    list = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof list;
  } catch {
    return { ...response, body: Readable.from([Buffer.concat(chunks)]) };
  }
  const filtered = { ...list, data: listedModels(Array.isArray(list.data) ? list.data : [], allowed, aliases) };
  const headers = { ...response.headers };
  delete headers['content-length'];
  return { ...response, headers, body: Readable.from([Buffer.from(JSON.stringify(filtered))]) };
}
