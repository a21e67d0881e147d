// @medley/router ships no types: the part of its API the matcher benchmark uses.
declare module '@medley/router' {
  export default class Router {
    register(path: string): Record<string, unknown>;
    find(path: string): { store: Record<string, unknown>; params: Record<string, string> } | null;
  }
}
