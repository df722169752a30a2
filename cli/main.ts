#!/usr/bin/env node
/**
 * The `ringforge` executable: runs {@link runCli} on the process arguments.
 *
 * @module
 */
import process from "node:process";
import { runCli } from "./program.ts";

// `ringforge plugins | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

process.exitCode = await runCli(process.argv.slice(2));
