/**
 * The conformance table against the node build, started in the real runtime (see ./_suite.ts),
 * twice: with origin bodies relayed natively (the default) and with every body through web
 * streams (PORTICO_NATIVE_RELAY=0), so both paths of the Node server answer every case.
 */
import { RUNTIMES, type RuntimeSpec } from './_runtimes.ts';
import { defineConformanceSuite } from './_suite.ts';

const node = RUNTIMES['node'];
const webStreams: RuntimeSpec = {
  ...node,
  name: 'node, web streams',
  command: (build, port) => {
    const c = node.command(build, port);
    return { ...c, env: { ...c.env, PORTICO_NATIVE_RELAY: '0' } };
  },
};

defineConformanceSuite(node, { setupTimeoutMs: 120000 });
defineConformanceSuite(webStreams, { setupTimeoutMs: 120000 });
