#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=25 --expose-gc
// A 2 MB young generation (V8's default grows to 16 MB) keeps a serving process about
// 25 MB smaller at the same CPU per query: the hot path allocates little that lives long.
// What does live a while (answer-cache entries, replaced as floods of new names recycle the
// cache's bounded negative part) reaches the old generation, and V8's default growth factor
// (up to 4x the live heap when mutation is fast) let the old generation reach 30-50 MB of
// garbage before a full collection under the mutation fuzzer. Growing by at most 1.5x keeps
// it near 30 MB for a live heap of 12-20 MB, at about 10 more full collections (0.1 s in all)
// per million packets; measured in `npm run test:stress fuzz`.
import { main } from './program.js';

await main(process.argv);
