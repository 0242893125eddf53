// The client side of the e2e suite, run inside the cluster (a client pod, or the app container of
// a pod with an injected sidecar) with the official openai SDK, as users' services would.
//
//   node test/e2e/images/client.ts idle                       stay up until SIGTERM (kubectl exec target)
//   node test/e2e/images/client.ts chat --base-url U [--stream] [--model M]
//        one chat completion; prints {content, usage, model} or {error: {status, code, message}} (exit 2)
//   node test/e2e/images/client.ts loop --base-url U --duration-ms N [--stop-file F] [--concurrency C]
//        streams completions back to back with retries off, for N ms or until file F exists;
//        prints {ok, failed, errors}
//   node test/e2e/images/client.ts app --base-url U
//        a sidecar app: one completion at start (exit 1 if it fails), then one every 5 s, logged
//   node test/e2e/images/client.ts get --url U                prints the body of a GET (metrics)
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    'base-url': { type: 'string' },
    model: { type: 'string', default: 'llama3-3-70b' },
    stream: { type: 'boolean', default: false },
    'duration-ms': { type: 'string', default: '30000' },
    concurrency: { type: 'string', default: '2' },
    url: { type: 'string' },
    'stop-file': { type: 'string' },
  },
});

const MESSAGE = [{ role: 'user' as const, content: 'Say hello from the e2e suite.' }];

function client(): OpenAI {
  const baseURL = values['base-url'];
  if (baseURL === undefined) throw new Error('--base-url is required');
  // The proxy holds the provider key; callers send none (auth: none endpoints).
  return new OpenAI({ baseURL, apiKey: 'unused-by-the-proxy', maxRetries: 0, timeout: 30_000 });
}

interface Answer {
  readonly content: string;
  readonly model: string;
  readonly usage: unknown;
}

async function chat(openai: OpenAI, stream: boolean): Promise<Answer> {
  if (!stream) {
    const completion = await openai.chat.completions.create({ model: values.model, messages: MESSAGE });
    return { content: completion.choices[0]?.message.content ?? '', model: completion.model, usage: completion.usage };
  }
  const chunks = await openai.chat.completions.create({ model: values.model, messages: MESSAGE, stream: true, stream_options: { include_usage: true } });
  let content = '';
  let model = '';
  let usage: unknown = null;
  for await (const chunk of chunks) {
    content += chunk.choices[0]?.delta.content ?? '';
    model = chunk.model;
    if (chunk.usage) usage = chunk.usage;
  }
  return { content, model, usage };
}

function describeError(error: unknown): { status?: number; code?: string | null; message: string } {
  if (error instanceof OpenAI.APIError) return { status: error.status as number | undefined, code: error.code ?? null, message: error.message };
  return { message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
}

async function loop(openai: OpenAI): Promise<void> {
  const until = Date.now() + Number(values['duration-ms']);
  let ok = 0;
  let failed = 0;
  const errors: unknown[] = [];
  const stopFile = values['stop-file'];
  const going = (): boolean => Date.now() < until && (stopFile === undefined || !existsSync(stopFile));
  const worker = async (): Promise<void> => {
    while (going()) {
      try {
        const answer = await chat(openai, true);
        if (answer.content === '') throw new Error('empty completion');
        ok++;
      } catch (error) {
        failed++;
        if (errors.length < 10) errors.push({ at: new Date().toISOString(), ...describeError(error) });
      }
    }
  };
  await Promise.all(Array.from({ length: Number(values.concurrency) }, worker));
  process.stdout.write(`${JSON.stringify({ ok, failed, errors })}\n`);
}

async function app(openai: OpenAI): Promise<void> {
  for (let first = true; ; first = false) {
    try {
      const answer = await chat(openai, false);
      process.stdout.write(`${JSON.stringify({ msg: 'completion', content: answer.content })}\n`);
    } catch (error) {
      process.stdout.write(`${JSON.stringify({ msg: 'failed', ...describeError(error) })}\n`);
      // The sidecar must be serving before this container starts: a failure here is the defect.
      if (first) process.exit(1);
    }
    await sleep(5_000);
  }
}

async function main(): Promise<void> {
  process.on('SIGTERM', () => process.exit(0));
  switch (positionals[0]) {
    case 'idle':
      setInterval(() => undefined, 1 << 30);
      return;
    case 'chat':
      try {
        process.stdout.write(`${JSON.stringify(await chat(client(), values.stream))}\n`);
      } catch (error) {
        process.stdout.write(`${JSON.stringify({ error: describeError(error) })}\n`);
        process.exitCode = 2;
      }
      return;
    case 'loop':
      return loop(client());
    case 'app':
      return app(client());
    case 'get': {
      const response = await fetch(values.url ?? '');
      process.stdout.write(await response.text());
      if (!response.ok) process.exitCode = 2;
      return;
    }
    default:
      throw new Error(`unknown command ${String(positionals[0])}: idle, chat, loop, app or get`);
  }
}

await main();
