// Cold-start probe: the AWS SDK v3 document client the handlers used before, set up as they set it up.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { ENV, tableSpec } from "../../handlers/contract";

export const client = (): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(
    new DynamoDBClient({
      maxAttempts: 3,
      endpoint: process.env[ENV.dynamoDbEndpoint],
      region: process.env.AWS_REGION,
      credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? "", secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? "" },
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
export const get = (c: DynamoDBDocumentClient): Promise<unknown> =>
  c.send(new GetCommand({ TableName: process.env[tableSpec("PeopleTable").envVar], Key: { id: "bench-probe" } }));
