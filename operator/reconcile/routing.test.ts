import type { V1Endpoint, V1EndpointSlice } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { readyAddresses } from './routing.ts';

const slice = (addressType: string, endpoints: V1Endpoint[]): V1EndpointSlice => ({ addressType, endpoints });
const pod = (uid: string, address: string, ready?: boolean): V1Endpoint => ({ addresses: [address], targetRef: { kind: 'Pod', uid }, ...(ready === undefined ? {} : { conditions: { ready } }) });

describe('readyAddresses', () => {
  it('counts ready endpoints across slices, and an unset ready condition as ready', () => {
    expect(readyAddresses([slice('IPv4', [pod('a', '10.0.0.1', true), pod('b', '10.0.0.2')]), slice('IPv4', [pod('c', '10.0.0.3', true)])])).toBe(3);
  });

  it('does not count endpoints that are not ready (starting or terminating)', () => {
    expect(readyAddresses([slice('IPv4', [pod('a', '10.0.0.1', true), pod('b', '10.0.0.2', false)])])).toBe(1);
  });

  it('counts a dual-stack pod once', () => {
    expect(readyAddresses([slice('IPv4', [pod('a', '10.0.0.1', true)]), slice('IPv6', [pod('a', 'fd00::1', true)])])).toBe(1);
  });

  it('is zero without slices', () => {
    expect(readyAddresses([])).toBe(0);
  });
});
