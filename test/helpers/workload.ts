import { LineClient } from './line-client.js';

/** What a workload sent and got back, in bytes. */
export interface WorkloadBytes {
  sent: number;
  received: number;
}

/**
 * `connections` clients, each sending `requests` lines, reading every reply
 * and then ending its side; resolves when every connection has closed.
 */
export async function lineWorkload(port: number, connections: number, requests: number): Promise<WorkloadBytes> {
  const totals = { sent: 0, received: 0 };
  await Promise.all(
    Array.from({ length: connections }, async (_, connection) => {
      const client = await LineClient.open(port);
      for (let request = 0; request < requests; request++) {
        const line = `connection ${connection} request ${request}\n`;
        client.send(line);
        totals.sent += Buffer.byteLength(line);
      }
      await client.readLines(requests);
      client.socket.end();
      const received = (await client.readToEnd()).length;
      totals.received += received;
      await client.closed;
    }),
  );
  return totals;
}
