// Cold-start floor: a handler that makes the two DynamoDB calls of a cold GET /health (the rate-limit
// write and the read) as unsigned node:http POSTs, and does nothing else.
import { client, get } from "./raw";

export const handler = async (): Promise<{ statusCode: number; body: string }> => {
  const agent = client();
  await get(agent);
  await get(agent);
  return { statusCode: 200, body: "{}" };
};
