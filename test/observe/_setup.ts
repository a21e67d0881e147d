/** Shared pieces of the observability tests: a Node gateway on loopback with an echo origin. */
import { compileConfig } from '../../core/config/index.ts';
import type { LogRecord } from '../../core/capabilities.ts';
import { startEchoOrigin, type EchoOrigin } from '../../scripts/demo/echo-origin.ts';
import { loadNodeHot } from '../../targets/node/hot.ts';
import { startNodeServer, type NodeServer } from '../../targets/node/server.ts';

export const ADMIN_TOKEN = 'observe-test-admin-token-0123456789abcdef';

export interface Running {
  gw: NodeServer;
  echo: EchoOrigin;
  logs: LogRecord[];
  close(): Promise<void>;
}

/** A gateway with one echo origin (region eu-west) and the given config pieces (routes default to one catch-all). */
export async function startObserved(
  extra: Record<string, unknown>,
  routes?: unknown[],
  origins: Record<string, unknown> = {},
): Promise<Running> {
  const echo = await startEchoOrigin({ region: 'eu-west' });
  const logs: LogRecord[] = [];
  const compiled = await compileConfig({
    origins: { eu: { url: echo.url, region: 'eu-west' }, ...origins },
    admin: { token: { env: 'PORTICO_ADMIN_TOKEN' } },
    routes: routes ?? [{ id: 'api', match: { path: '/api/*' }, upstream: 'eu' }],
    ...extra,
  });
  const gw = await startNodeServer(compiled, {
    port: 0,
    hot: await loadNodeHot('wasm'),
    log: (r) => logs.push(r),
    // Close kept-alive test connections at once when the test ends (no load balancer to warn).
    drainGraceMs: 0,
    secrets: (name) => (name === 'PORTICO_ADMIN_TOKEN' ? ADMIN_TOKEN : undefined),
  });
  return {
    gw,
    echo,
    logs,
    async close() {
      await gw.drain();
      await echo.close();
    },
  };
}

/** The access records (msg "request") logged so far. */
export function accessRecords(logs: LogRecord[]): LogRecord[] {
  return logs.filter((r) => r.msg === 'request');
}
