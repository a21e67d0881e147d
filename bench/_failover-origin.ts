/**
 * One region's origin for `portico bench failover` in network-namespace mode: an echo origin on
 * the namespace's address, run as `ip netns exec <ns> node --import tsx bench/_failover-origin.ts
 * --host A --port P --region R --latency MS`. It prints `ready <url>` once listening, takes the
 * demo controls over HTTP (`POST /_demo/down?mode=…`, `POST /_demo/up`) and exits on SIGTERM.
 */
import { startEchoOrigin } from '../scripts/demo/echo-origin.ts';

function arg(name: string): string {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? process.argv[at + 1] : undefined;
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

const origin = await startEchoOrigin({
  host: arg('host'),
  port: Number(arg('port')),
  region: arg('region'),
  latencyMs: Number(arg('latency')),
});
process.stdout.write(`ready ${origin.url}\n`);
process.once('SIGTERM', () => {
  void origin.close().then(() => process.exit(0));
});
