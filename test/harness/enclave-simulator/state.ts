import { releaseFor, type AttestationFault, type ReleaseSpec, type SimulatorRelease } from './attestation.ts';
import { createSimulatorKey, type SimulatorKey } from './keys.ts';
import type { UsageOverrides } from './reply.ts';
import { checkRouterError, type RouterErrorSettings } from './router-errors.ts';

/**
 * The simulator's mutable state and the controls that steer it. The same controls back the
 * handle's methods and the HTTP API under `/control/`, so a test in-process and a test talking to
 * an in-cluster copy steer it identically.
 */

/** RecordedRequest is one request as the simulated enclave saw it (after decryption). */
export interface RecordedRequest {
  /** seq numbers requests from 1 in arrival order; response ids derive from it. */
  readonly seq: number;
  readonly method: string;
  /** path is the request target's path, query excluded. */
  readonly path: string;
  /** encrypted tells whether the body arrived EHBP-encrypted. */
  readonly encrypted: boolean;
  /** headers are the request headers, names lowercased, repeated values joined with `, `. */
  readonly headers: Readonly<Record<string, string>>;
  /** body is the decrypted JSON body, when the body was JSON. */
  readonly body?: unknown;
  readonly time: Date;
  /** status is the answer's status, once sent; a 422 for a stale key is recorded too. */
  readonly status?: number;
}

/** SlowSettings delays answers: before the first byte, and between streamed events. */
export interface SlowSettings {
  readonly firstByteMs: number;
  readonly chunkMs: number;
}

/**
 * CutSettings resets the connection mid-answer: a stream after `afterChunks` events, a document
 * after half its bytes.
 */
export interface CutSettings {
  readonly afterChunks: number;
}

/**
 * TruncateSettings ends the answer early but cleanly, as a hostile or broken upstream can: a
 * stream after `afterChunks` events (EHBP: whole frames, so the framing stays valid; no `[DONE]`,
 * no final event, no usage trailer), a document after half its bytes (EHBP: the first half sealed
 * as one whole frame; with `afterChunks: 0`, no frame at all).
 */
export interface TruncateSettings {
  readonly afterChunks: number;
}

/** Behaviour is every switch that `reset()` restores. */
export interface Behaviour {
  readonly attestationFault: AttestationFault | null;
  readonly slow: SlowSettings;
  readonly cut: CutSettings | null;
  readonly truncate: TruncateSettings | null;
  /** plaintextAnswers answers encrypted requests in plaintext (a broken or hostile enclave). */
  readonly plaintextAnswers: boolean;
  /** completionTexts maps model names (or `*`) to completion texts. */
  readonly completionTexts: Readonly<Record<string, string>>;
  readonly usage: UsageOverrides;
  /** routerError answers inference requests as the router's plaintext rejection (EHBP 0.3, no nonce). */
  readonly routerError: RouterErrorSettings | null;
  /** attestationValidityMs makes each served attestation say it expires this long after it was issued; null: no expiry. */
  readonly attestationValidityMs: number | null;
}

/** SimulatorState is the whole mutable state of one simulator. */
export interface SimulatorState {
  releaseNumber: number;
  release: SimulatorRelease;
  key: SimulatorKey;
  behaviour: Behaviour;
  log: RecordedRequest[];
  seq: number;
}

/** SimulatorControls steer a running simulator. */
export interface SimulatorControls {
  /** release is the release currently attested. */
  readonly release: SimulatorRelease;
  /** hpkePublicKey is the current HPKE public key (hex), as attested and served. */
  readonly hpkePublicKey: string;
  readonly behaviour: Behaviour;
  /** switchRelease moves to the next release (or the given one) and returns it. */
  switchRelease(spec?: ReleaseSpec): SimulatorRelease;
  /** breakAttestation makes `GET /attestation` fail; `null` repairs it. */
  breakAttestation(fault: AttestationFault | null): void;
  /** expireAttestations makes served attestations expire `validityMs` after they are issued (null: never). */
  expireAttestations(validityMs: number | null): void;
  /** rotateKey replaces the HPKE key; requests sealed to the old key get 422. Returns the new key (hex). */
  rotateKey(): Promise<string>;
  /** slowResponses sets delays (missing fields are 0); `null` removes them. */
  slowResponses(delays: Partial<SlowSettings> | null): void;
  /** cutResponses resets connections mid-answer until called with `null`. */
  cutResponses(cut: CutSettings | null): void;
  /** truncateResponses ends answers early with a clean end until called with `null`. */
  truncateResponses(truncate: TruncateSettings | null): void;
  /** answerInPlaintext answers encrypted requests without encryption while enabled. */
  answerInPlaintext(enabled: boolean): void;
  /** setCompletionText sets the completion text of `model` (default `*`, every model); `null` restores the default. */
  setCompletionText(text: string | null, model?: string): void;
  /** setUsage overrides token counts; `null` measures them again. */
  setUsage(usage: UsageOverrides | null): void;
  /** rejectAtRouter answers inference requests as the router's plaintext error until `null` (or `times` ran out). */
  rejectAtRouter(settings: RouterErrorSettings | null): void;
  /** requests returns a copy of the request log (every request but control calls). */
  requests(): RecordedRequest[];
  clearRequests(): void;
  /** reset restores every behaviour switch to its start value; release, key and log stay. */
  reset(): void;
}

function nonNegative(name: string, value: number | undefined): number {
  const v = value ?? 0;
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a non-negative number`);
  return v;
}

function checkUsage(usage: UsageOverrides): UsageOverrides {
  for (const [name, value] of Object.entries(usage)) {
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) throw new RangeError(`usage.${name} must be a non-negative integer`);
  }
  return { ...usage };
}

/**
 * SimulatorController implements the controls over one state; `initial` is what `reset()`
 * restores, `keySeed` derives rotated keys when the simulator's keys are deterministic.
 */
export class SimulatorController implements SimulatorControls {
  readonly #state: SimulatorState;
  readonly #initial: Behaviour;
  readonly #keySeed: string | undefined;

  constructor(state: SimulatorState, initial: Behaviour, keySeed?: string) {
    this.#state = state;
    this.#initial = initial;
    this.#keySeed = keySeed;
  }

  get release(): SimulatorRelease {
    return this.#state.release;
  }

  get hpkePublicKey(): string {
    return this.#state.key.publicKeyHex;
  }

  get behaviour(): Behaviour {
    return this.#state.behaviour;
  }

  switchRelease(spec?: ReleaseSpec): SimulatorRelease {
    const next = releaseFor(this.#state.releaseNumber + 1, spec);
    this.#state.releaseNumber += 1;
    this.#state.release = next;
    return next;
  }

  breakAttestation(fault: AttestationFault | null): void {
    this.#set({ attestationFault: fault });
  }

  expireAttestations(validityMs: number | null): void {
    this.#set({ attestationValidityMs: validityMs === null ? null : nonNegative('validityMs', validityMs) });
  }

  async rotateKey(): Promise<string> {
    this.#state.key = await createSimulatorKey(this.#state.key.generation + 1, this.#keySeed);
    return this.#state.key.publicKeyHex;
  }

  slowResponses(delays: Partial<SlowSettings> | null): void {
    this.#set({ slow: { firstByteMs: nonNegative('firstByteMs', delays?.firstByteMs), chunkMs: nonNegative('chunkMs', delays?.chunkMs) } });
  }

  cutResponses(cut: CutSettings | null): void {
    this.#set({ cut: cut === null ? null : { afterChunks: Math.floor(nonNegative('afterChunks', cut.afterChunks)) } });
  }

  truncateResponses(truncate: TruncateSettings | null): void {
    this.#set({ truncate: truncate === null ? null : { afterChunks: Math.floor(nonNegative('afterChunks', truncate.afterChunks)) } });
  }

  answerInPlaintext(enabled: boolean): void {
    this.#set({ plaintextAnswers: enabled });
  }

  setCompletionText(text: string | null, model = '*'): void {
    const others = Object.entries(this.#state.behaviour.completionTexts).filter(([name]) => name !== model);
    this.#set({ completionTexts: Object.fromEntries(text === null ? others : [...others, [model, text]]) });
  }

  setUsage(usage: UsageOverrides | null): void {
    this.#set({ usage: usage === null ? {} : checkUsage(usage) });
  }

  rejectAtRouter(settings: RouterErrorSettings | null): void {
    this.#set({ routerError: settings === null ? null : checkRouterError(settings) });
  }

  requests(): RecordedRequest[] {
    return this.#state.log.map((r) => ({ ...r }));
  }

  clearRequests(): void {
    this.#state.log = [];
  }

  reset(): void {
    this.#state.behaviour = this.#initial;
  }

  #set(patch: Partial<Behaviour>): void {
    this.#state.behaviour = { ...this.#state.behaviour, ...patch };
  }
}
