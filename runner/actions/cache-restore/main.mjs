import { restore, run } from '../lib/cache.mjs';

run(() => restore({ saveState: false }));
