/**
 * What the `time` field costs the access log: one record as the gateway logs it, turned into
 * its JSON line as the Node sink does, with and without timestampedLog in front.
 * Run: npx tsx bench/log-time.ts. Prints ns per record, median of 7 rounds of 200k records.
 */
import { timestampedLog } from '../core/gateway.ts';
import type { LogRecord } from '../core/capabilities.ts';

const ROUNDS = 7;
const PER_ROUND = 200_000;
let sink = 0;
const write = (record: LogRecord): void => {
  sink += JSON.stringify(record).length;
};

function accessRecord(i: number): LogRecord {
  return {
    level: 'info',
    msg: 'request',
    requestId: 'b3f1c2d4-5e6f-4a1b-9c8d-7e6f5a4b3c2d',
    method: 'GET',
    path: '/api/users/42',
    route: 'users',
    status: 200,
    ms: i & 7,
    origin: 'eu',
    region: 'eu-west',
  };
}

function round(log: (r: LogRecord) => void): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < PER_ROUND; i++) log(accessRecord(i));
  return Number(process.hrtime.bigint() - started) / PER_ROUND;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const rows: Record<string, (r: LogRecord) => void> = {
  'no time': write,
  'timestampedLog (Date.now)': timestampedLog(write, Date.now),
  'time set on the record (mutated)': (r) => {
    r['time'] = new Date().toISOString();
    write(r);
  },
  'new Date().toISOString() per record': (r) => write({ time: new Date().toISOString(), ...r }),
};
const results: Record<string, number[]> = {};
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, log] of Object.entries(rows)) {
    const values = results[name] ?? [];
    values.push(round(log));
    results[name] = values;
  }
}
for (const [name, values] of Object.entries(results)) console.log(`${name.padEnd(40)} ${median(values).toFixed(0)} ns/record`);
if (sink === 0) console.log('');
