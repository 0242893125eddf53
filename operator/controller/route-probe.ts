import { connect } from 'node:net';

/** ROUTE_PROBE_TIMEOUT_MS bounds one probe: a Service without node rules drops or refuses the connection. */
const ROUTE_PROBE_TIMEOUT_MS = 1000;

/**
 * tcpRouteProbe connects to host:port (a Service's DNS name and port) and closes at once: it says
 * only that DNS answered and the node's Service rules carried the connection to a pod. No byte is
 * sent. It never throws.
 */
export function tcpRouteProbe(host: string, port: number, timeoutMs = ROUTE_PROBE_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}
