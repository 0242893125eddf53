import type { E2e } from './kube.ts';

/** World is what scenarios share, filled in by the suite's setup. */
export interface World {
  k: E2e;
  /** publicKeyPem is the simulator's development signing key (public half). */
  publicKeyPem: string;
}

/** APP_NS holds the shared endpoint `chat` and the client pod. */
export const APP_NS = 'aio-e2e-app';
export const CHAT = 'chat';
/** proxyDeployment is the name of an endpoint's proxy Deployment. */
export const proxyDeployment = (endpoint: string): string => `${endpoint}-proxy`;
/** CHAT_URL is the endpoint's Service as clients in its namespace reach it. */
export const CHAT_URL = `http://${CHAT}.${APP_NS}.svc/v1`;
