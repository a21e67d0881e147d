/**
 * Which way the Node server writes origin bodies in the e2e files that import this: natively
 * (undici's Readable piped to the response, the default) or through web streams. The files
 * `*.web-streams.test.ts` switch it off and then import the same tests, so every body and fault
 * case runs through both paths.
 */
export const relayMode = { nativeRelay: true };
