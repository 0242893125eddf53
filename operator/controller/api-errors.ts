/**
 * statusCode reads the HTTP status from whatever the Kubernetes client threw: an ApiException
 * (`code`), a Watch failure (`statusCode`), or a Status body (`body.code`). Undefined for
 * transport failures, which have none.
 */
export function statusCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { code?: unknown; statusCode?: unknown; body?: unknown };
  if (typeof e.code === 'number') return e.code;
  if (typeof e.statusCode === 'number') return e.statusCode;
  if (typeof e.body === 'object' && e.body !== null && typeof (e.body as { code?: unknown }).code === 'number') {
    return (e.body as { code: number }).code;
  }
  return undefined;
}

/** isNotFound: the object is gone (404), which ends a reconcile quietly. */
export function isNotFound(error: unknown): boolean {
  return statusCode(error) === 404;
}

/** isConflict: a write lost an optimistic-concurrency race or the object already exists (409). */
export function isConflict(error: unknown): boolean {
  return statusCode(error) === 409;
}

/** isGone: a resourceVersion or continue token expired (410); the cure is a fresh list. */
export function isGone(error: unknown): boolean {
  return statusCode(error) === 410;
}

/** errorMessage is a short text for logs and Events, preferring the API server's own Status message. */
export function errorMessage(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const body = (error as { body?: unknown }).body;
    const parsed = typeof body === 'string' ? safeParse(body) : body;
    const message = (parsed as { message?: unknown } | undefined)?.message;
    if (typeof message === 'string' && message !== '') return message;
  }
  return error instanceof Error ? error.message : String(error);
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
