import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEnclaveSimulator, type EnclaveSimulator } from '../../harness/enclave-simulator/index.ts';
import { startJwksServer, unsignedToken, type JwksServer } from '../../harness/jwks-server.ts';
import { metricValue, simulatorConfig, startTestProxy, type TestProxy } from '../../harness/test-proxy.ts';

interface Answer {
  readonly status: number;
  readonly body: { error?: { code: string; message: string; type: string; param: string | null } };
}

interface LogLine {
  readonly msg: string;
  readonly reason?: string;
  readonly kid?: string;
  readonly caller?: string;
  readonly status?: number;
}

const BODY = JSON.stringify({ model: 'llama3-3-70b', messages: [{ role: 'user', content: 'hello' }] });

describe('JWT callers through the real proxy', () => {
  let simulator: EnclaveSimulator;
  let issuer: JwksServer;
  let proxy: TestProxy;

  const chat = async (token: string): Promise<Answer> => {
    const response = await fetch(`${proxy.apiUrl}/v1/chat/completions`, {
      method: 'POST',
      body: BODY,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    });
    return { status: response.status, body: (await response.json()) as Answer['body'] };
  };
  const logs = (): LogLine[] => proxy.logs().map((l) => JSON.parse(l) as LogLine);
  /** refusedWith sends `token`, expects an OpenAI-style error, and returns the reason the proxy logged. */
  const refusedWith = async (token: string, status = 401): Promise<string | undefined> => {
    const before = logs().length;
    const answer = await chat(token);
    expect(answer.status).toBe(status);
    expect(answer.body.error).toMatchObject({ code: status === 401 ? 'invalid_api_key' : 'auth_unavailable', type: status === 401 ? 'invalid_request_error' : 'server_error', param: null });
    expect(answer.body.error?.message).toMatch(/^The JWT was refused: /);
    return logs().slice(before).find((l) => l.msg === 'jwt auth: token refused')?.reason;
  };

  beforeAll(async () => {
    simulator = await startEnclaveSimulator();
    issuer = await startJwksServer();
    proxy = await startTestProxy(simulatorConfig(simulator, {
      auth: {
        mode: 'jwt',
        jwt: {
          jwksUrl: issuer.url,
          issuer: issuer.issuer,
          audiences: [issuer.audience],
          callerClaim: 'client_id',
          callerLabel: 'allow-list',
          allowedCallers: ['billing'],
          maxTokenBytes: 2048,
          jwksRefetchCooldownSeconds: 1,
        },
      },
    }));
  });
  afterAll(async () => {
    await proxy.close();
    await issuer.close();
    await simulator.close();
  });

  it('admits a valid token and counts the request under its bounded caller label', async () => {
    expect((await chat(await issuer.sign({ claims: { client_id: 'billing' } }))).status).toBe(200);
    const metrics = await proxy.metrics();
    expect(metricValue(metrics, 'attested_inference_requests_total', { caller: 'jwt:billing', status_code: '200' })).toBe(1);
    expect(logs().filter((l) => l.msg === 'request finished').map((l) => l.caller)).toEqual(['jwt:billing']);
  });

  it('refuses a verified caller not on allowedCallers with 403 permission_denied, and sends nothing', async () => {
    const requestsBefore = simulator.requests().length;
    const before = logs().length;
    const answer = await chat(await issuer.sign({ claims: { client_id: 'someone-unlisted' } }));
    expect(answer.status).toBe(403);
    expect(answer.body.error).toMatchObject({ code: 'permission_denied', type: 'invalid_request_error', param: null });
    expect(answer.body.error?.message).toBe('The JWT was refused: its caller is not allowed to use this endpoint.');
    expect(logs().slice(before).find((l) => l.msg === 'jwt auth: token refused')?.reason).toBe('caller_not_allowed');
    expect(simulator.requests().length).toBe(requestsBefore);
    const metrics = await proxy.metrics();
    expect(metricValue(metrics, 'attested_inference_requests_total', { caller: 'unauthenticated', status_code: '403' })).toBe(1);
    expect(metrics + proxy.logs().join('\n')).not.toContain('someone-unlisted');
  });

  it('answers every bad token with an OpenAI-style 401, logs the reason, and never logs the token', async () => {
    const claims = { client_id: 'billing' };
    const now = Math.floor(Date.now() / 1000);
    const valid = await issuer.sign({ claims });
    const [header, , signature] = valid.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ iss: issuer.issuer, aud: issuer.audience, client_id: 'billing', sub: 'admin', exp: now + 600 })).toString('base64url');
    const cases: Array<[string, string]> = [
      ['expired', await issuer.sign({ claims, expiresInSeconds: -3600 })],
      ['audience', await issuer.sign({ claims: { ...claims, aud: 'another-endpoint' } })],
      ['issuer', await issuer.sign({ claims: { ...claims, iss: 'https://elsewhere.example' } })],
      ['algorithm', unsignedToken({ iss: issuer.issuer, aud: issuer.audience, client_id: 'billing', exp: now + 600 })],
      ['signature', `${header}.${forged}.${signature}`],
      ['oversized', await issuer.sign({ claims: { ...claims, padding: 'p'.repeat(4000) } })],
      ['unknown_kid', await issuer.sign({ claims, kid: 'nobody-serves-this' })],
      ['no_expiry', await issuer.sign({ claims: { ...claims, exp: undefined } })],
    ];
    const requestsBefore = simulator.requests().length;
    for (const [reason, token] of cases) expect(await refusedWith(token), reason).toBe(reason);
    expect(simulator.requests().length).toBe(requestsBefore);
    const text = proxy.logs().join('\n');
    for (const [, token] of cases) {
      for (const part of token.split('.').filter(Boolean)) expect(text).not.toContain(part);
    }
    const metrics = await proxy.metrics();
    expect(metricValue(metrics, 'attested_inference_requests_total', { caller: 'unauthenticated', status_code: '401' })).toBe(cases.length);
  });

  it('admits a token signed by a rotated key after one refetch of the key set', async () => {
    const retired = issuer.current();
    const rotated = await issuer.rotate();
    await sleep(1100); // past the refetch cooldown left by the unknown kid above
    const before = issuer.hits();
    expect((await chat(await issuer.sign({ key: rotated, claims: { client_id: 'billing' } }))).status).toBe(200);
    expect(issuer.hits()).toBe(before + 1);
    // The old key is gone from the set: its tokens are now unknown, and the cooldown spares the issuer.
    for (let i = 0; i < 3; i++) expect(await refusedWith(await issuer.sign({ key: retired, claims: { client_id: 'billing' } }))).toBe('unknown_kid');
    expect(issuer.hits()).toBe(before + 1);
  });

  it('fails closed with 503 auth_unavailable when the issuer cannot serve its key set', async () => {
    const rotated = await issuer.rotate();
    issuer.failWith(503);
    await sleep(1100);
    const token = await issuer.sign({ key: rotated, claims: { client_id: 'billing' } });
    expect(await refusedWith(token, 503)).toBe('jwks_unavailable');
    issuer.failWith(200);
    await sleep(1100);
    expect((await chat(token)).status).toBe(200);
  });
});
