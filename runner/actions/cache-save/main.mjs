import { run, save } from '../lib/cache.mjs';

run(() => save({ fromState: false }));
