// Placeholder until this command's module lands; replaced by its implementation.
import { CommandFailure, type CommandSpec } from "../command";

export const command: CommandSpec = {
  name: "deploy",
  summary: "(not implemented yet)",
  usage: "",
  options: {},
  async run() {
    throw new CommandFailure("deploy is not implemented yet");
  },
};
