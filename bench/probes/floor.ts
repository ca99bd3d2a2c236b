// Cold-start floor: a handler that makes the two DynamoDB calls of a cold GET /health (the rate-limit
// counter's UpdateItem, then the GetItem) as unsigned node:http POSTs, and does nothing else.
import { tableSpec } from "../../handlers/contract";
import { call, client, get } from "./raw";

export const handler = async (): Promise<{ statusCode: number; body: string }> => {
  const agent = client();
  await call(agent, "UpdateItem", {
    TableName: process.env[tableSpec("RateLimitTable").envVar],
    Key: { id: { S: `bench-floor#${process.pid}` } },
    UpdateExpression: "ADD requestCount :one",
    ExpressionAttributeValues: { ":one": { N: "1" } },
    ReturnValues: "UPDATED_NEW",
  });
  await get(agent);
  return { statusCode: 200, body: "{}" };
};
