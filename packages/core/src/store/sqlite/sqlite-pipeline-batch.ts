/**
 * Pipeline batch for the embedded store. On the same 200k-entry file and 100k-package rpm syncs,
 * batches of 500 took 10-20% less CPU on both threads than batches of 1,000 (two alternating pairs,
 * per-thread CPU; 250 was no better): half as much content in flight between the stages survives
 * fewer young-generation collections, and each IN-list look-up of 500 fits one statement.
 * (A module of its own so the catalog thread's caller does not load the store to read it.)
 */
export const SQLITE_PIPELINE_BATCH = 500;
