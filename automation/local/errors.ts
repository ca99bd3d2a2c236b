// The one failure type of the local target: a single actionable line (busy port, missing Java,
// DynamoDB Local that did not start, a second target in one process). Exit code 1 via CommandFailure.
import { CommandFailure } from "../command";

export class LocalTargetError extends CommandFailure {
  override name = "LocalTargetError";
  constructor(message: string) {
    super(message, 1);
  }
}
