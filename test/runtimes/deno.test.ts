/** The conformance table against the deno build, started in the real runtime (see ./_suite.ts). */
import { RUNTIMES } from './_runtimes.ts';
import { defineConformanceSuite } from './_suite.ts';

defineConformanceSuite(RUNTIMES['deno'], {
  setupTimeoutMs: 120000,
  outputMustNotMatch: {
    pattern: /request\.signal aborts on successful responses/,
    what: "warning about request.signal's legacy abort",
  },
});
