import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root: where core/, targets/, wasm/build/ and node_modules/ live. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
