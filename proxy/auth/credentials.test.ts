import { describe, expect, it } from 'vitest';
import { ProxyError } from '../errors.ts';
import { MAX_CREDENTIAL_LENGTH, presentedCredential } from './credentials.ts';

function refusal(headers: Record<string, string | string[]>): ProxyError {
  try {
    presentedCredential(headers);
  } catch (error) {
    if (error instanceof ProxyError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('presentedCredential', () => {
  it('reads Authorization: Bearer, api-key and x-api-key', () => {
    expect(presentedCredential({ authorization: 'Bearer sk-one' })).toBe('sk-one');
    expect(presentedCredential({ authorization: 'bearer  sk-one ' })).toBe('sk-one');
    expect(presentedCredential({ 'api-key': 'sk-two' })).toBe('sk-two');
    expect(presentedCredential({ 'x-api-key': ' sk-three\n' })).toBe('sk-three');
    expect(presentedCredential({ authorization: 'Bearer sk-same', 'x-api-key': 'sk-same' })).toBe('sk-same');
  });

  it('refuses a missing, malformed, ambiguous or oversized credential without quoting it', () => {
    const cases: Record<string, string | string[]>[] = [
      {},
      { 'x-api-key': '  ' },
      { authorization: 'Basic c2stc2VjcmV0' },
      { authorization: 'Bearer sk-secret extra' },
      { authorization: 'Bearer sk-secret', 'api-key': 'sk-other' },
      { 'x-api-key': ['sk-secret', 'sk-secret'] },
      { authorization: `Bearer sk-secret${'x'.repeat(MAX_CREDENTIAL_LENGTH)}` },
    ];
    for (const headers of cases) {
      const error = refusal(headers);
      expect(error.code).toBe('invalid_api_key');
      expect(error.status).toBe(401);
      expect(error.message).not.toContain('sk-');
      expect(error.message).not.toContain('c2st');
    }
  });
});
