import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './cli-error.js';
import { parseDeviceSpec, type DeviceSpec } from './device-spec.js';
import { parseSize } from './size.js';

/** `util.parseArgs`, with its errors turned into one-line UsageErrors that name the command. */
export function parseCommandLine<const T extends ParseArgsConfig>(command: string, config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(`${command}: ${message}`);
  }
}

/** Exactly `count` positionals, else a UsageError listing what is expected. */
export function expectPositionals(command: string, positionals: readonly string[], names: readonly string[]): string[] {
  if (positionals.length < names.length) {
    throw new UsageError(`${command}: missing ${names.slice(positionals.length).join(' ')}`);
  }
  if (positionals.length > names.length) {
    throw new UsageError(`${command}: unexpected argument '${positionals[names.length]!}'`);
  }
  return [...positionals];
}

/** A SPEC argument; the error names the command. */
export function specArgument(command: string, text: string): DeviceSpec {
  try {
    return parseDeviceSpec(text);
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message}`);
  }
}

/** A `--port` value: an integer 0–65535 (0 asks the system for a free port). */
export function portArgument(command: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new UsageError(`${command}: bad port '${text}': expected 0–65535`);
  return Number(text);
}

/** A SIZE option value; the error names the command and the option. */
export function sizeArgument(command: string, option: string, text: string): number {
  try {
    return parseSize(text);
  } catch (error) {
    throw new UsageError(`${command}: --${option}: ${(error as Error).message}`);
  }
}
