/**
 * One gateway process for `portico bench limits`: the Node target with the Wasm hot path, its
 * config from PORTICO_BENCH_CONFIG (JSON), Redis from PORTICO_BENCH_REDIS. Prints its URL.
 */
import { compileConfig } from '../core/config/index.ts';
import { loadNodeHot } from '../targets/node/hot.ts';
import { startNodeServer } from '../targets/node/server.ts';

const config = await compileConfig(JSON.parse(process.env['PORTICO_BENCH_CONFIG'] ?? '{}'));
const gw = await startNodeServer(config, {
  port: 0,
  hot: await loadNodeHot('wasm'),
  // Only the store's own transitions are of interest here; request lines would cost the run.
  log: (r) => {
    if (r.msg !== 'request') process.stderr.write(`${JSON.stringify(r)}\n`);
  },
  secrets: (name) => (name === 'PORTICO_BENCH_REDIS' ? process.env['PORTICO_BENCH_REDIS'] : undefined),
});
process.stdout.write(`${JSON.stringify({ url: gw.url })}\n`);
process.on('SIGTERM', () => {
  void gw.drain().then(() => process.exit(0));
});
