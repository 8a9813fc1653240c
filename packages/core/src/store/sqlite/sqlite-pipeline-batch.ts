/**
 * Pipeline batch for the embedded store: half as much content in flight between the stages
 * survives fewer young-generation collections, and each IN-list look-up of 500 fits one statement
 * (the figures are in docs/performance.md). A module of its own so the catalog thread's caller
 * does not load the store to read it.
 */
export const SQLITE_PIPELINE_BATCH = 500;
