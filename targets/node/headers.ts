/**
 * Web Headers as node:http and undici take them: one value per name, `set-cookie` as a list
 * (Headers would join its values with ", ", which breaks cookies). A HeaderMap is read directly.
 */
export { headerRecord as nodeHeaders, headerList as nodeHeaderList } from '../../core/http/header-map.ts';

/** Whether a flat name, value, … list (nodeHeaderList) has a field of that lower-case name. */
export function listHas(list: readonly string[], name: string): boolean {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return true;
  return false;
}
