export { normalizePath, MAX_PATH_LENGTH } from './normalize.ts';
export type { NormalizeResult } from './normalize.ts';
export { HOP_BY_HOP_HEADERS, removeHopByHop, resolveClient, requestIdFrom } from './headers.ts';
export type { ClientInfo } from './headers.ts';
export { parseIp, parseCidr, cidrContains, formatIp } from './ip.ts';
export type { CidrRange } from './ip.ts';
export { problemResponse, internalProblem, PROBLEM_TYPE_BASE } from './problem.ts';
export { readBody } from './read-body.ts';
export { newRequestId } from './request-id.ts';
