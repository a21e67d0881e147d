/**
 * The Node target's default log sink: one JSON line per record on stdout, written in batches.
 *
 * On Linux a write to stdout is a synchronous system call when stdout is a pipe or a file (what
 * a container's log collector reads), and one call per request measured about 7% of the
 * gateway's CPU under load. So lines collect in memory and go out in one write at most
 * FLUSH_AFTER_MS after the first of them, or as soon as 64 KiB are waiting. One write per turn
 * of the event loop (the earlier rule) still cost about 1 µs per request at 32 connections,
 * where a turn carries a few requests; a 20 ms window is invisible to a reader of the log and
 * carries hundreds. Nothing is reordered, and what is still waiting is written when the process
 * exits (`exit` runs on an uncaught exception too), when the server closes, or when `flush` is
 * called. The timer is unref'd: a waiting batch never keeps a process alive, `exit` writes it.
 */
import type { LogRecord } from '../../core/capabilities.ts';

/** Lines waiting beyond this many UTF-16 units are written at once rather than when the timer fires. */
const FLUSH_AT_UNITS = 64 * 1024;
/** The longest a line waits for the batch's write. */
export const FLUSH_AFTER_MS = 20;

export interface LineLog {
  (record: LogRecord): void;
  /** Writes whatever is waiting now. */
  flush(): void;
}

/**
 * @example
 * const log = createLineLog((text) => process.stdout.write(text));
 * log({ level: 'info', msg: 'request', status: 200 }); // written within FLUSH_AFTER_MS
 */
export function createLineLog(write: (text: string) => void): LineLog {
  let waiting = '';
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = (): void => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (waiting === '') return;
    const text = waiting;
    waiting = '';
    write(text);
  };
  const log = (record: LogRecord): void => {
    waiting += JSON.stringify(record) + '\n';
    if (waiting.length >= FLUSH_AT_UNITS) flush();
    else if (timer === undefined) {
      timer = setTimeout(flush, FLUSH_AFTER_MS);
      timer.unref();
    }
  };
  return Object.assign(log, { flush });
}

/**
 * The default sink: batched JSON lines on stdout, flushed on exit.
 *
 * When stdout goes away (the reader of a pipe exits: `portico dev | head`, a log shipper that
 * crashed), the write fails with EPIPE, which Node reports as an 'error' event on the stream:
 * without a listener that event is an uncaught exception and the gateway would die of its log.
 * Here it keeps serving: lines are dropped from then on, and one line on stderr says so (when
 * stderr is there to take it).
 */
export function stdoutLineLog(): LineLog {
  let lost: string | null = null;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (lost !== null) return;
    lost = err.code ?? err.message;
    // stderr is often gone too (the parent that held both pipes exited): its failure comes as an
    // 'error' event as well, and nothing is left to tell.
    process.stderr.on('error', () => {});
    try {
      process.stderr.write(`portico: stdout failed (${lost}); access and error lines are dropped from now on\n`);
    } catch {
      // A synchronous failure of the same kind.
    }
  });
  const log = createLineLog((text) => {
    if (lost === null) process.stdout.write(text);
  });
  process.once('exit', log.flush);
  return log;
}
