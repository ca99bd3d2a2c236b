// Placeholder until this command's module lands; replaced by its implementation.
import { CommandFailure, type CommandSpec } from "../command";

export const command: CommandSpec = {
  name: "notify",
  summary: "(not implemented yet)",
  usage: "",
  options: {},
  async run() {
    throw new CommandFailure("notify is not implemented yet");
  },
};
