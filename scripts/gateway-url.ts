/**
 * The `--url` of the commands that talk to a running gateway (`portico purge`, `portico warm`):
 * required, absolute, http or https. One place so that both say the same thing.
 */

/** The parsed gateway URL, or null after printing why it is not one (the command exits with 2). */
export function gatewayUrl(value: string | undefined, purpose: string, err: (line: string) => void): URL | null {
  if (!value) {
    err(`--url: the gateway to ${purpose} is required, e.g. --url http://127.0.0.1:8787`);
    return null;
  }
  let base: URL;
  try {
    base = new URL(value);
  } catch {
    err(`--url: expected an absolute http(s) URL, got "${value}"`);
    return null;
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    err(`--url: expected an http(s) URL, got "${value}"`);
    return null;
  }
  return base;
}
