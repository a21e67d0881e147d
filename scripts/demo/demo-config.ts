/**
 * The embedded demo: three loopback origins standing for three regions, and a config that
 * exercises exact, param, prefix, regex, host and header routing, rewrites and header transforms.
 */
import { defineConfig, type PorticoConfig } from '../../core/config/index.ts';

export interface DemoOrigins {
  euWest: string;
  usEast: string;
  apSouth: string;
}

export function demoConfig(origins: DemoOrigins): PorticoConfig {
  return defineConfig({
    version: 1,
    trustedProxies: [],
    origins: {
      'eu-west': { url: origins.euWest, region: 'eu-west', timeoutMs: 2000 },
      'us-east': { url: origins.usEast, region: 'us-east', timeoutMs: 2000 },
      'ap-south': { url: origins.apSouth, region: 'ap-south', timeoutMs: 2000 },
    },
    routes: [
      { id: 'status', match: { path: '/api/status', methods: ['GET'] }, upstream: 'eu-west' },
      {
        id: 'user-canary',
        match: { path: '/api/users/:id', methods: ['GET'], headers: { 'x-canary': '1' } },
        upstream: 'us-east',
        responseHeaders: { set: { 'x-portico-canary': 'true' } },
      },
      { id: 'user', match: { path: '/api/users/:id', methods: ['GET', 'PUT', 'DELETE'] }, upstream: ['eu-west', 'us-east'] },
      {
        id: 'api',
        match: { path: '/api/*', methods: ['GET', 'POST'] },
        upstream: 'eu-west',
        rewrite: { stripPrefix: '/api' },
        requestHeaders: { set: { 'x-gateway': 'portico' }, remove: ['cookie'] },
        responseHeaders: { remove: ['x-origin-secret'] },
      },
      { id: 'v1-compat', match: { path: '/v1/*' }, upstream: 'us-east', rewrite: { replacePrefix: { from: '/v1', to: '/v2' } } },
      {
        id: 'reports',
        match: { regex: '^/reports/(?<year>\\d{4})-(?<month>\\d{2})\\.csv$', methods: ['GET'] },
        upstream: 'ap-south',
      },
      { id: 'tenant', match: { path: '/*', hosts: ['*.demo.localhost'] }, upstream: 'ap-south' },
      { id: 'fallback', fallback: true, match: { methods: ['GET'] }, upstream: 'ap-south' },
    ],
  });
}
