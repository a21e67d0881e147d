/**
 * Which CF-Connecting-IP the Cloudflare target believes: the one Cloudflare's edge wrote (the
 * request then carries `request.cf` with its data center), not one a client sent to a bare
 * workerd. The conformance suite checks the bare workerd end to end.
 */
import { describe, expect, it } from 'vitest';
import { requestContext } from '../../targets/cloudflare/capabilities.ts';

function request(cf?: Record<string, string>): Request {
  const r = new Request('https://gw.example/x', { headers: { 'cf-connecting-ip': '198.51.100.7' } });
  if (cf) Object.defineProperty(r, 'cf', { value: cf });
  return r;
}
const ctx = { waitUntil() {} };

describe('the Cloudflare client address', () => {
  it("is CF-Connecting-IP when request.cf names the edge's data center", () => {
    expect(requestContext(request({ colo: 'FRA' }), ctx).clientAddress).toBe('198.51.100.7');
  });

  it('is unknown on a bare workerd, whatever CF-Connecting-IP the client sent', () => {
    expect(requestContext(request(), ctx).clientAddress).toBeUndefined();
    expect(requestContext(request({}), ctx).clientAddress).toBeUndefined();
  });

  it('follows the PORTICO_CF_CONNECTING_IP binding when it says trust or ignore', () => {
    expect(requestContext(request(), ctx, { PORTICO_CF_CONNECTING_IP: 'trust' }).clientAddress).toBe('198.51.100.7');
    expect(requestContext(request({ colo: 'FRA' }), ctx, { PORTICO_CF_CONNECTING_IP: 'ignore' }).clientAddress).toBeUndefined();
  });
});
