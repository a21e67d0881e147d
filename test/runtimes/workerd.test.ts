/** The conformance table against the workerd build, started in the real runtime (see ./_suite.ts). */
import { RUNTIMES } from './_runtimes.ts';
import { defineConformanceSuite } from './_suite.ts';

defineConformanceSuite(RUNTIMES['workerd'], { setupTimeoutMs: 120000 });
