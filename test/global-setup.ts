/** Jest global setup: starts shared test servers (the MongoDB-wire server, see test/mongo-server.ts). */
export default async function globalSetup(): Promise<void> {}
