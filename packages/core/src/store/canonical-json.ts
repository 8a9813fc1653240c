/** Canonical JSON lives in plugin-api, so that plugins can write metadata text the stores keep as it is. */
export { canonicalJson } from '@tributary/plugin-api';
