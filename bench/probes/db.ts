// Cold-start probe: the handlers' DynamoDB seam (handlers/lib/db.ts), bundled like a function.
import { ddb, type DocumentClient, GetCommand, table } from "../../handlers/lib/db";

export const client = (): DocumentClient => ddb();
export const get = (c: DocumentClient): Promise<unknown> => c.send(new GetCommand({ TableName: table("PeopleTable"), Key: { id: "bench-probe" } }));
