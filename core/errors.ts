/**
 * One error base for the whole gateway. Every failure has a stable `code`; the HTTP-facing ones
 * also carry the status and the problem type they become (RFC 9457).
 */
export type PorticoErrorCode =
  | 'ERR_CONFIG_INVALID'
  | 'ERR_BAD_REQUEST_PATH'
  | 'ERR_BAD_HOST'
  | 'ERR_ROUTE_NOT_FOUND'
  | 'ERR_METHOD_NOT_ALLOWED'
  | 'ERR_UPSTREAM_TIMEOUT'
  | 'ERR_UPSTREAM_UNREACHABLE'
  | 'ERR_NOT_READY'
  | 'ERR_ROUTE_TABLE_INVALID'
  | 'ERR_HOT_MEMORY'
  | 'ERR_INTERNAL';

export class PorticoError extends Error {
  readonly code: PorticoErrorCode;
  constructor(code: PorticoErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** One problem found in a config: where (a path such as `routes[3].upstream`) and what. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** A config that cannot be used. `message` lists every issue, one per line, with the file. */
export class ConfigError extends PorticoError {
  readonly issues: readonly ConfigIssue[];
  readonly file: string | undefined;
  constructor(issues: readonly ConfigIssue[], file?: string) {
    const where = file ?? 'config';
    const lines = issues.map((i) => `  ${where}: ${i.path ? `${i.path}: ` : ''}${i.message}`);
    super('ERR_CONFIG_INVALID', `invalid config (${issues.length} error${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`);
    this.issues = issues;
    this.file = file;
  }
}

/** A failure that becomes an HTTP problem response. `detail` is safe to show to the client. */
export class HttpProblem extends PorticoError {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly headers: Record<string, string>;
  constructor(
    code: PorticoErrorCode,
    status: number,
    title: string,
    detail: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(code, detail, options);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.headers = options?.headers ?? {};
  }
}
