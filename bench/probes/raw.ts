// Cold-start probe, the floor: the same GetItem as one unsigned POST with node:http (DynamoDB Local
// does not check signatures). No client, no signing, no conversion.
import * as http from "node:http";
import { ENV, tableSpec } from "../../handlers/contract";

export const client = (): http.Agent => new http.Agent({ keepAlive: true });

/** One DynamoDB JSON call (`operation`, wire-format input) over `agent`. */
export const call = (agent: http.Agent, operation: string, input: object): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const url = new URL(process.env[ENV.dynamoDbEndpoint] ?? "");
    const headers = {
      "Content-Type": "application/x-amz-json-1.0",
      "X-Amz-Target": `DynamoDB_20120810.${operation}`,
      Authorization: "AWS4-HMAC-SHA256 Credential=local/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
    };
    const req = http.request({ hostname: url.hostname, port: url.port, method: "POST", path: "/", agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => (res.statusCode === 200 ? resolve(JSON.parse(Buffer.concat(chunks).toString())) : reject(new Error(`${operation}: HTTP ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end(JSON.stringify(input));
  });

export const get = (agent: http.Agent): Promise<unknown> =>
  call(agent, "GetItem", { TableName: process.env[tableSpec("PeopleTable").envVar], Key: { id: { S: "bench-probe" } } });
