/**
 * Tests train in checkouts of this repository and in temporary ones; run records would land on a
 * cdl-runs branch of whichever repository that is. Off unless a test turns it on (test/runs*.test.ts).
 */
process.env.CDL_RUNS ??= 'off';
