/**
 * `portico key new` and `portico key hash`: API keys for the `apiKey` policy. The gateway only
 * ever holds a key's SHA-256 (core/policies/api-key/api-key-hash.ts), so a new key is shown once,
 * here, next to the hash and the config to paste.
 */
import { NAME } from '../core/config/primitives.ts';
import { generateApiKey, hashApiKey, KV_KEY_PREFIX } from '../core/policies/api-key/index.ts';

export interface KeyCommandOptions {
  consumer?: string;
  plan?: string;
  json?: boolean;
}

export interface KeyIo {
  out(line: string): void;
  err(line: string): void;
  /** The whole of stdin, or null when stdin is a terminal (nothing piped in). */
  readStdin(): Promise<string | null>;
}

function configSnippet(consumer: string, hash: string, plan: string | undefined): string {
  const entry = plan === undefined ? { hash } : { hash, plan };
  return JSON.stringify({ apiKeys: { [consumer]: entry } }, null, 2);
}

async function keyNew(options: KeyCommandOptions, io: KeyIo): Promise<number> {
  const consumer = options.consumer ?? 'my-consumer';
  if (!NAME.test(consumer)) {
    io.err(`--consumer: expected a name of letters, digits, _ . -, got "${consumer}"`);
    return 2;
  }
  if (options.plan !== undefined && !NAME.test(options.plan)) {
    io.err(`--plan: expected a name of letters, digits, _ . -, got "${options.plan}"`);
    return 2;
  }
  const key = generateApiKey();
  const hash = await hashApiKey(key);
  if (options.json) {
    io.out(JSON.stringify({ consumer, key, hash, ...(options.plan !== undefined ? { plan: options.plan } : {}) }));
    return 0;
  }
  const record = JSON.stringify({ consumer, ...(options.plan !== undefined ? { plan: options.plan } : {}) });
  io.out(`key:  ${key}`);
  io.out(`hash: ${hash}`);
  io.out('');
  io.out(`Give the key to ${consumer}; it is shown only this once (portico keeps only its hash).`);
  io.out('Add the hash to your config (the hash is not a secret):');
  io.out('');
  for (const line of configSnippet(consumer, hash, options.plan).split('\n')) io.out(`  ${line}`);
  io.out('');
  io.out('and turn keys on for a route:  "apiKey": {}');
  io.out(`or, for a route with "apiKey": { "kv": true }, store it in the KV store instead:`);
  io.out(`  ${KV_KEY_PREFIX}${hash.slice('sha256:'.length)}  →  ${record}`);
  return 0;
}

/** The key from the argument, or from stdin (`-`, or no argument with something piped in). */
async function keyHash(arg: string | undefined, io: KeyIo): Promise<number> {
  let key = arg;
  if (key === undefined || key === '-') {
    const input = await io.readStdin();
    if (input === null) {
      io.err('usage: portico key hash <key>, or pipe the key in: printf %s "$KEY" | portico key hash');
      return 2;
    }
    // One trailing newline is the shell's, not the key's.
    key = input.replace(/\r?\n$/, '');
  }
  if (key === '') {
    io.err('expected a key to hash, got an empty one');
    return 2;
  }
  if (/[\r\n]/.test(key)) {
    io.err('expected one key, got several lines');
    return 2;
  }
  io.out(await hashApiKey(key));
  return 0;
}

/** Runs `portico key <action>`; returns the exit code. */
export async function runKeyCommand(
  action: string,
  arg: string | undefined,
  options: KeyCommandOptions,
  io: KeyIo,
): Promise<number> {
  if (action === 'new') {
    if (arg !== undefined) {
      io.err(
        `key new takes no argument (got "${arg.length > 12 ? `${arg.slice(0, 3)}…` : arg}"); name the consumer with --consumer`,
      );
      return 2;
    }
    return keyNew(options, io);
  }
  if (action === 'hash') return keyHash(arg, io);
  io.err(`unknown key action "${action}" (available: new, hash)`);
  return 2;
}

/** Reads all of process.stdin, or null when it is a terminal. */
export async function readProcessStdin(): Promise<string | null> {
  if (process.stdin.isTTY) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
