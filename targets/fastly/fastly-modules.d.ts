/**
 * The slices of Fastly's `fastly:*` modules that targets/fastly uses. @fastly/js-compute ships
 * full types, but they also declare globals (FetchEvent, ...) that clash with the DOM lib the
 * rest of the repo type-checks against, so only what is used is declared here.
 */
declare module 'fastly:env' {
  /** FASTLY_POP, FASTLY_REGION, FASTLY_SERVICE_VERSION, ... */
  export function env(name: string): string | undefined;
}

declare module 'fastly:kv-store' {
  export class KVStore {
    /** Throws when no KV store of that name is linked to the service. */
    constructor(name: string);
    get(key: string): Promise<{ text(): Promise<string> } | null>;
    put(key: string, value: string, options?: { ttl?: number }): Promise<undefined>;
    delete(key: string): Promise<undefined>;
  }
}

declare module 'fastly:secret-store' {
  export class SecretStore {
    /** Throws when no secret store of that name is linked to the service. */
    constructor(name: string);
    get(key: string): Promise<{ plaintext(): string } | null>;
  }
}

declare module 'fastly:cache' {
  export interface SimpleCacheEntry {
    arrayBuffer(): Promise<ArrayBuffer>;
  }
  /** A class of static methods in js-compute; declared as the object it is used as. */
  export const SimpleCache: {
    get(key: string): SimpleCacheEntry | null;
    /** `ttl` in seconds. */
    set(key: string, value: BodyInit, ttl: number): undefined;
    purge(key: string, options: { scope: 'pop' | 'global' }): undefined;
  };
}
