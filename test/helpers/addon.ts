import { existsSync } from 'node:fs';
import { addonCandidates } from '../../lib/binding/loader.js';

/** Native tests need the built addon; without it they fail with this message (never silently skip in CI). */
export function requireAddonBuilt(): void {
  if (!addonCandidates().some((p) => existsSync(p))) {
    throw new Error('the native addon is not built: run `npm run build` (npm install does it) before `npm test`');
  }
}
