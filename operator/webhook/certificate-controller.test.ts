import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { CertificateController, type CertificateStore, type StoredCertificates } from './certificate-controller.ts';
import { DEFAULT_ROTATION, rotate, type WebhookCertificates } from './certificates.ts';

const identity = { dnsNames: ['injector.system.svc'], ipAddresses: [] };

/** racingStore is a Secret another replica fills between our read and our write, once. */
function racingStore(theirs: WebhookCertificates): CertificateStore & { writes: number } {
  let stored: StoredCertificates = { resourceVersion: '1' };
  const store = {
    writes: 0,
    read: (): Promise<StoredCertificates> => Promise.resolve(stored),
    write: (certificates: WebhookCertificates, resourceVersion?: string): Promise<void> => {
      store.writes++;
      if (store.writes === 1) {
        stored = { certificates: theirs, resourceVersion: '2' };
        return Promise.reject(Object.assign(new Error('the object has been modified'), { code: 409 }));
      }
      if (resourceVersion !== stored.resourceVersion) return Promise.reject(Object.assign(new Error('conflict'), { code: 409 }));
      stored = { certificates, resourceVersion: String(Number(resourceVersion) + 1) };
      return Promise.resolve();
    },
  };
  return store;
}

describe('the certificate controller', () => {
  it('takes the certificates of a replica that wrote the Secret first instead of failing', async () => {
    const theirs = (await rotate(undefined, { now: new Date(), policy: DEFAULT_ROTATION, identity })).next;
    const store = racingStore(theirs);
    const served: string[] = [];
    const controller = new CertificateController({ store, publish: () => Promise.resolve(), serve: (pair) => served.push(pair.certPem), logger: pino({ level: 'silent' }) }, { identity });
    const certificates = await controller.prepare();
    expect(certificates.serving.certPem).toBe(theirs.serving.certPem);
    expect(served).toEqual([theirs.serving.certPem]);
    expect(store.writes).toBe(1);
  });

  it('still fails on errors that are not a lost race', async () => {
    const store: CertificateStore = { read: () => Promise.resolve({}), write: () => Promise.reject(Object.assign(new Error('forbidden'), { code: 403 })) };
    const controller = new CertificateController({ store, publish: () => Promise.resolve(), serve: () => undefined, logger: pino({ level: 'silent' }) }, { identity });
    await expect(controller.prepare()).rejects.toThrow('forbidden');
  });

  it('applies the configuration again when the live one no longer carries the bundle, and not otherwise', async () => {
    let stored: StoredCertificates = {};
    const store: CertificateStore = { read: () => Promise.resolve(stored), write: (c, rv) => { stored = { certificates: c, resourceVersion: String(Number(rv ?? '0') + 1) }; return Promise.resolve(); } };
    const published: string[] = [];
    let live = true;
    const controller = new CertificateController({ store, publish: (b) => { published.push(b); return Promise.resolve(); }, published: () => Promise.resolve(live), serve: () => undefined, logger: pino({ level: 'silent' }) }, { identity });
    await controller.sync();
    await controller.sync();
    expect(published).toHaveLength(1);
    live = false;
    await controller.sync();
    expect(published).toHaveLength(2);
    expect(published[1]).toBe(published[0]);
  });

  it('writes a deleted Secret back from the certificates in use, and serves on when that write is refused', async () => {
    let stored: StoredCertificates = {};
    let refuse = false;
    const writes: (string | undefined)[] = [];
    const store: CertificateStore = {
      read: () => Promise.resolve(stored),
      write: (c, rv) => {
        writes.push(rv);
        if (refuse) return Promise.reject(Object.assign(new Error('secrets is forbidden'), { code: 403 }));
        stored = { certificates: c, resourceVersion: '1' };
        return Promise.resolve();
      },
    };
    const served: string[] = [];
    const bundles: string[] = [];
    const controller = new CertificateController({ store, publish: (b) => { bundles.push(b); return Promise.resolve(); }, serve: (pair) => served.push(pair.certPem), logger: pino({ level: 'silent' }) }, { identity });
    const first = await controller.sync();
    stored = {};
    const again = await controller.sync();
    expect(again).toEqual(first);
    expect(writes).toEqual([undefined, undefined]);
    expect((stored.certificates)?.ca.certPem).toBe(first.ca.certPem);
    stored = {};
    refuse = true;
    await expect(controller.sync()).resolves.toEqual(first);
    expect(served).toEqual([first.serving.certPem]);
    expect(new Set(bundles)).toEqual(new Set([first.bundle.join('\n')]));
  });
});

