/**
 * Web Headers as node:http and undici take them: one value per name, `set-cookie` as a list
 * (Headers would join its values with ", ", which breaks cookies). A HeaderMap is read directly.
 */
export { headerRecord as nodeHeaders } from '../../core/http/header-map.ts';
