/** The cases of ./hardening.test.ts with every origin body written through web streams (see ./_relay-mode.ts). */
import { relayMode } from './_relay-mode.ts';

relayMode.nativeRelay = false;
await import('./hardening.test.ts');
