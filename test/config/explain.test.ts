/**
 * `explain`'s reasons for precedence losses come from the comparison the table's sort uses.
 */
import { describe, expect, it } from 'vitest';
import { compileConfig } from '../../core/config/index.ts';
import { createTwinHot } from '../../core/hot/index.ts';
import { createRouteMatcher } from '../../core/router/index.ts';

const origins = { eu: { url: 'http://127.0.0.1:9001', region: 'eu-west' } };

async function lossesFor(routes: unknown[], path: string, headers: Record<string, string> = {}) {
  const compiled = await compileConfig({ origins, routes });
  const { result, candidates } = createRouteMatcher(compiled, createTwinHot()).explain(
    'GET',
    'api.example.com',
    path,
    new Headers(headers),
  );
  return {
    winner: result.kind === 'match' ? result.match.route.id : null,
    losses: Object.fromEntries(candidates.filter((c) => c.outcome === 'precedence').map((c) => [c.route.id, c.detail])),
  };
}

describe('explain: why a matching route lost', () => {
  it('names the longer prefix, not header conditions, when /api/* with a header loses to /api/users/*', async () => {
    const { winner, losses } = await lossesFor(
      [
        { id: 'api', match: { path: '/api/*', headers: { 'x-canary': '1' } }, upstream: 'eu' },
        { id: 'users', match: { path: '/api/users/*' }, upstream: 'eu' },
      ],
      '/api/users/42',
      { 'x-canary': '1' },
    );
    expect(winner).toBe('users');
    expect(losses['api']).toBe('matches, but ranks below "users": a longer static prefix ranks first (/api/users against /api)');
  });

  it('names header conditions when they are what decided', async () => {
    const { winner, losses } = await lossesFor(
      [
        { id: 'plain', match: { path: '/api/*' }, upstream: 'eu' },
        { id: 'canary', match: { path: '/api/*', headers: { 'x-canary': '1' } }, upstream: 'eu' },
      ],
      '/api/users/42',
      { 'x-canary': '1' },
    );
    expect(winner).toBe('canary');
    expect(losses['plain']).toBe('matches, but ranks below "canary": more header conditions rank first (1 against 0)');
  });

  it('names the route kind, the host and the declaration order when those decided', async () => {
    const { losses } = await lossesFor(
      [
        { id: 'any-host', match: { path: '/a/:x' }, upstream: 'eu' },
        { id: 'prefix', match: { path: '/a/*' }, upstream: 'eu' },
        { id: 'regex', match: { regex: '^/a/' }, upstream: 'eu' },
        { id: 'first', match: { path: '/a/:x', hosts: ['api.example.com'] }, upstream: 'eu' },
        { id: 'second', match: { path: '/a/:y', hosts: ['api.example.com'] }, upstream: 'eu' },
      ],
      '/a/b',
    );
    expect(losses['any-host']).toBe(
      'matches, but ranks below "first": a route for host api.example.com ranks above a route for any host',
    );
    expect(losses['second']).toBe('matches, but ranks below "first": declared later in the config');
    expect(losses['prefix']).toContain('a route for host api.example.com ranks above a route for any host');
    expect(losses['regex']).toContain('a route for host api.example.com ranks above a route for any host');
  });

  it('names the kind between two routes for any host', async () => {
    const { losses } = await lossesFor(
      [
        { id: 'prefix', match: { path: '/a/*' }, upstream: 'eu' },
        { id: 'params', match: { path: '/a/:x' }, upstream: 'eu' },
        { id: 'regex', match: { regex: '^/a/' }, upstream: 'eu' },
        { id: 'fb', fallback: true, upstream: 'eu' },
      ],
      '/a/b',
    );
    expect(losses['prefix']).toBe('matches, but ranks below "params": params routes rank above prefix routes');
    expect(losses['regex']).toBe('matches, but ranks below "params": params routes rank above regex routes');
    expect(losses['fb']).toBe('matches, but ranks below "params": fallback routes rank last');
  });
});
