#!/usr/bin/env node
/**
 * The `ringforge` executable: runs {@link runCli} on the process arguments.
 *
 * @module
 */
import process from "node:process";
import { setFlagsFromString } from "node:v8";
import { runCli } from "./program.ts";

// fetch (Node's undici, used by the client commands) compiles its HTTP parser from WebAssembly,
// and V8 then recompiles that with its optimizing compiler on a background thread, which the
// process waits for before it can exit: about 0.3 s of CPU and of waiting added to a command
// that sends one request. The baseline compiler's code parses a few responses just as well.
// Only WebAssembly compiled from now on is affected; the rest of this process is not.
setFlagsFromString("--liftoff-only");

// `ringforge plugins | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

process.exitCode = await runCli(process.argv.slice(2));
