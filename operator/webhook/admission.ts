/**
 * Types of the admission.k8s.io/v1 AdmissionReview, as far as the webhook reads and writes them
 * (https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#request).
 */

/** AdmissionRequest is the part of a review the API server sends. */
export interface AdmissionRequest {
  readonly uid: string;
  readonly kind?: { readonly group: string; readonly version: string; readonly kind: string };
  readonly namespace?: string;
  readonly operation?: string;
  readonly object?: unknown;
  /** dryRun: the API server will not persist the object, so the webhook must not cause side effects (sideEffects: NoneOnDryRun). */
  readonly dryRun?: boolean;
}

/** AdmissionResponse is the webhook's answer; `patch` is a base64 RFC 6902 JSON Patch. */
export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly patchType?: 'JSONPatch';
  readonly patch?: string;
  readonly status?: { readonly code: number; readonly message: string; readonly reason?: string };
  /** warnings are shown by kubectl and client libraries (Kubernetes 1.19+); at most 120 characters each is advised. */
  readonly warnings?: readonly string[];
}

/** AdmissionReview wraps a request or a response. */
export interface AdmissionReview {
  readonly apiVersion: string;
  readonly kind: string;
  readonly request?: AdmissionRequest;
  readonly response?: AdmissionResponse;
}

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

/** reviewResponse wraps a response in the AdmissionReview envelope the API server expects back. */
export function reviewResponse(response: AdmissionResponse): AdmissionReview {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}
