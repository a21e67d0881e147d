/**
 * One error base for the whole gateway. Every failure has a stable `code`; the HTTP-facing ones
 * also carry the status and the problem type they become (RFC 9457).
 */
import type { PorticoErrorCode } from './pipeline/problems.ts';
import { PROBLEMS } from './pipeline/problems.ts';

export type { PorticoErrorCode };

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

/**
 * A failure that becomes an HTTP problem response; status and title come from the registry
 * (pipeline/problems.ts). `detail` is safe to show to the client. Thrown only where a failure is
 * exceptional (an origin that cannot be reached); a policy that refuses a request returns
 * `problemResponse(...)` instead, so that no stack is built per refused request.
 */
export class HttpProblem extends PorticoError {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly headers: Record<string, string>;
  constructor(code: PorticoErrorCode, detail: string, options?: { cause?: unknown; headers?: Record<string, string> }) {
    super(code, detail, options);
    this.status = PROBLEMS[code].status;
    this.title = PROBLEMS[code].title;
    this.detail = detail;
    this.headers = options?.headers ?? {};
  }
}

/** A secret reference (`{ "env": "NAME" }`) whose variable is not set where the gateway starts. */
export class SecretError extends PorticoError {
  readonly path: string;
  readonly variable: string;
  constructor(path: string, variable: string) {
    super('ERR_SECRET_MISSING', `${path}: secret ${variable} is not set in this runtime's environment`);
    this.path = path;
    this.variable = variable;
  }
}
