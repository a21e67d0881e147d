/**
 * nginx (Debian's package) as a reference beside portico: the forwarding benchmark's proxy, the
 * cache benchmark's `proxy_cache`, and one of the caches the conformance run compares. Each
 * starts its own nginx from a config in a directory of its own; this writes that config, so
 * that the three agree on everything but what they measure.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface NginxSite {
  /** `host:port` that nginx listens on. */
  listen: string;
  /** The origin's `host:port`. */
  upstream: string;
  /** Idle keep-alive connections kept to the origin. */
  keepalive: number;
  workerConnections: number;
  /** An access log in the directory (buffered, as a production nginx writes it); default off. */
  accessLog?: boolean;
  /** A `proxy_cache_path` zone of this name, under `<dir>/cache`. */
  cacheZone?: string;
  /** More `http` block directives. */
  http?: readonly string[];
  /** The `location /` directives after proxy_pass and the keep-alive upstream settings. */
  location: readonly string[];
}

/**
 * Writes `<dir>/nginx.conf` for one worker in the foreground, its pid, logs and temp files in
 * `dir`; returns the arguments that start it (`nginx ...args`).
 * @example spawn('nginx', writeNginxConf(dir, { listen: '127.0.0.1:8080', upstream: '127.0.0.1:9000', keepalive: 32, workerConnections: 1024, location: [] }))
 */
export function writeNginxConf(dir: string, site: NginxSite): string[] {
  // Started as root, nginx's workers run as nobody: they must be able to write the cache and temp files.
  chmodSync(dir, 0o755);
  for (const d of ['cache', 'tmp']) {
    mkdirSync(join(dir, d), { recursive: true });
    chmodSync(join(dir, d), 0o777);
  }
  const http = [
    site.accessLog ? `access_log ${dir}/access.log combined buffer=64k flush=1s;` : 'access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${dir}/tmp/${t};`),
    ...(site.cacheZone
      ? [`proxy_cache_path ${dir}/cache levels=1:2 keys_zone=${site.cacheZone}:10m max_size=256m inactive=1h use_temp_path=off;`]
      : []),
    ...(site.http ?? []),
  ];
  const location = ['proxy_pass http://origin;', 'proxy_http_version 1.1;', 'proxy_set_header Connection "";', ...site.location];
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections ${site.workerConnections}; }
http {
${http.map((l) => `  ${l}`).join('\n')}
  upstream origin { server ${site.upstream}; keepalive ${site.keepalive}; }
  server {
    listen ${site.listen};
    location / {
${location.map((l) => `      ${l}`).join('\n')}
    }
  }
}
`,
  );
  return ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf];
}
