export { createRouteMatcher, findPreflightRoute } from './route-matcher.ts';
export type {
  RouteMatcher,
  RouteMatch,
  FindResult,
  Explanation,
  ExplainCandidate,
  LossReason,
  HeaderLookup,
} from './route-matcher.ts';
