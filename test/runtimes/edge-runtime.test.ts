/** The conformance table against the edge-runtime build, started in the real runtime (see ./_suite.ts). */
import { RUNTIMES } from './_runtimes.ts';
import { defineConformanceSuite } from './_suite.ts';

defineConformanceSuite(RUNTIMES['edge-runtime'], { setupTimeoutMs: 120000 });
