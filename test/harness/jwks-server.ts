import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/** SigningKey is one of a test issuer's keys: its private half signs, its public half is served. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

/** TokenOptions shape one token; claims default to a valid token for the issuer's first audience. */
export interface TokenOptions {
  readonly claims?: JWTPayload;
  readonly key?: SigningKey;
  /** kid overrides the header's `kid` (a kid nobody serves). */
  readonly kid?: string;
  /** expiresInSeconds is relative to now; negative makes an expired token. */
  readonly expiresInSeconds?: number;
}

/** JwksServer is a loopback issuer: it serves a JSON Web Key Set, rotates keys and signs tokens. */
export interface JwksServer {
  readonly url: string;
  readonly issuer: string;
  readonly audience: string;
  /** hits counts the key set requests served. */
  hits(): number;
  /** current is the key tokens are signed with by default. */
  current(): SigningKey;
  /** rotate makes a new key current and serves only it (and `keep`, if given). */
  rotate(options?: { keep?: boolean }): Promise<SigningKey>;
  /** failWith makes the server answer every request with this status; 200 restores it. */
  failWith(status: number): void;
  /** serveBody makes the server answer 200 with this body instead of its key set; undefined restores it. */
  serveBody(body: string | undefined): void;
  sign(options?: TokenOptions): Promise<string>;
  close(): Promise<void>;
}

let keyCounter = 0;

/** newSigningKey makes a fresh key pair with a unique `kid`. */
export async function newSigningKey(alg = 'ES256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `test-key-${++keyCounter}`;
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** unsignedToken hand-builds an `alg: none` token (RFC 7519 §6.1), which no verifier here may accept. */
export function unsignedToken(claims: JWTPayload): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

/** startJwksServer serves a key set on a free loopback port until closed. */
export async function startJwksServer(options: { alg?: string; issuer?: string; audience?: string } = {}): Promise<JwksServer> {
  let served: SigningKey[] = [await newSigningKey(options.alg)];
  let status = 200;
  let body: string | undefined;
  let hits = 0;
  const server: Server = createServer((request, response) => {
    hits++;
    if (status !== 200) {
      response.writeHead(status, { 'content-type': 'application/json' }).end('{"error":"unavailable"}');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(body ?? JSON.stringify({ keys: served.map((k) => k.jwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  const issuer = options.issuer ?? 'https://issuer.test.local';
  const audience = options.audience ?? 'inference.attested.dev/test';
  const current = (): SigningKey => served.at(-1)!;
  return {
    url,
    issuer,
    audience,
    hits: () => hits,
    current,
    rotate: async ({ keep = false } = {}) => {
      const next = await newSigningKey(current().alg);
      served = keep ? [...served, next] : [next];
      return next;
    },
    failWith: (next) => {
      status = next;
    },
    serveBody: (next) => {
      body = next;
    },
    sign: async (t = {}) => {
      const key = t.key ?? current();
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, aud: audience, sub: 'caller-1', iat: now, exp: now + (t.expiresInSeconds ?? 600), ...t.claims })
        .setProtectedHeader({ alg: key.alg, kid: t.kid ?? key.kid, typ: 'JWT' })
        .sign(key.privateKey);
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
