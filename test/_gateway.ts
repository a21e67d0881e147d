/**
 * A gateway from `createGateway` as the policy tests want it: the real Node forwarder, a clock
 * the test moves, every log record kept, secrets from a map, and a `dispatch` that hands the
 * gateway's waitUntil work back so the caller decides when to wait for it.
 */
import type { LogRecord, Stores } from '../core/capabilities.ts';
import { compileConfig } from '../core/config/index.ts';
import { createGateway, type Gateway } from '../core/gateway.ts';
import { createTwinHot } from '../core/hot/index.ts';
import { createNodeForward } from '../targets/node/forward.ts';

export interface TestGatewayBase {
  gateway: Gateway;
  logs: LogRecord[];
  clock: { now: number };
  /** Sends a request to gw.test; `pending` receives the waitUntil promises. */
  dispatch(path: string, headers: Record<string, string>, init: RequestInit, pending: Promise<unknown>[]): Promise<Response>;
  close(): Promise<void>;
}

export async function startTestGateway(
  config: unknown,
  options: { secrets?: Record<string, string>; stores?: Partial<Stores>; clock: { now: number } },
): Promise<TestGatewayBase> {
  const compiled = await compileConfig(config);
  const logs: LogRecord[] = [];
  const forward = createNodeForward();
  const clock = options.clock;
  const gateway = createGateway(compiled, {
    forward,
    now: () => clock.now,
    hot: createTwinHot(),
    ...(options.stores ? { stores: options.stores } : {}),
    log: (r) => logs.push(r),
    secrets: (name) => options.secrets?.[name],
  });
  await gateway.ready;
  return {
    gateway,
    logs,
    clock,
    dispatch: (path, headers, init, pending) =>
      gateway.fetch(new Request(`http://gw.test${path}`, { ...init, headers }), {
        waitUntil: (p) => pending.push(p),
        clientAddress: '127.0.0.1',
      }),
    close: () => forward.close(),
  };
}
