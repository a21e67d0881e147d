/**
 * Vercel Edge target: the entrypoint of an Edge Function in the Build Output API v3
 * (`.vercel/output/functions/index.func`). Its default export takes `(request, context)`.
 * The hot-path Wasm is imported as `./portico.wasm?module`, the form Vercel compiles ahead of time.
 */
import compiled from 'portico:config';
import hotModule from 'portico:hot-module';
import { createGateway } from '../../core/index.ts';
import { instantiateHot } from '../../core/hot/index.ts';
import { createVercelCapabilities, requestContext, type VercelEdgeContext } from './capabilities.ts';

const gateway = createGateway(compiled, createVercelCapabilities(instantiateHot(hotModule)));

export default function handler(request: Request, context?: VercelEdgeContext): Promise<Response> {
  return gateway.fetch(request, requestContext(request, context));
}
