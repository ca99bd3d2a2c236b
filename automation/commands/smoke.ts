// Placeholder until this command's module lands; replaced by its implementation.
import { CommandFailure, type CommandSpec } from "../command";

export const command: CommandSpec = {
  name: "smoke",
  summary: "(not implemented yet)",
  usage: "",
  options: {},
  async run() {
    throw new CommandFailure("smoke is not implemented yet");
  },
};
