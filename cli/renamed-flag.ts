/**
 * Flags that changed name. The old name keeps working for a while, hidden from `--help`, and
 * says once on standard error what to type instead; a name never means two things at once.
 *
 * @module
 */
import { Option } from "commander";
import { InvalidFlagError } from "./flag-parsers.ts";

/** A hidden option under `flags` (the old spelling, e.g. `--seeds <count>`), parsed as the new one is. */
export function renamedFlag<T>(flags: string, parse: (value: string, previous: T) => T): Option {
  return new Option(flags).hideHelp().argParser(parse);
}

/**
 * The value of a renamed flag: the new name's, or the old name's after a deprecation line on
 * `err`; both given is refused.
 *
 * @throws {InvalidFlagError} when both names were given
 */
export function fromRenamedFlag<T>(
  err: (text: string) => void,
  names: { readonly old: string; readonly current: string },
  values: { readonly old: T | undefined; readonly current: T | undefined },
): T | undefined {
  if (values.old === undefined) return values.current;
  if (values.current !== undefined) {
    throw new InvalidFlagError(
      names.old,
      String(values.old),
      `${names.old} is the old name of ${names.current}: give ${names.current} only`,
    );
  }
  err(`ringforge: ${names.old} is now ${names.current} (the old name will go)\n`);
  return values.old;
}
