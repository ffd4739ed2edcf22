import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { blk } from './helpers/blk.js';

const COMMANDS = ['serve', 'copy', 'mirror', 'info', 'map', 'xenstored', 'bench'];
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string; bin: { blk: string } };

describe('blk', () => {
  it('is the package bin and starts with a node shebang', () => {
    expect(pkg.bin.blk).toBe('./dist/bin.js');
    const text = readFileSync(new URL('../dist/bin.js', import.meta.url), 'utf8');
    expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('with no arguments prints the usage on stderr and exits 2', async () => {
    const r = await blk([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Usage: blk COMMAND');
  });

  it('--help lists every command and the SPEC grammar, exit 0', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const r = await blk([flag]);
      expect(r.code).toBe(0);
      for (const name of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
      for (const form of ['ram:SIZE', 'mem:SIZE', 'file:PATH', 'fmap:PATH', 'nbd://', 'nbd+unix://', 'nbds'])
        expect(r.stdout).toContain(form);
    }
  });

  it('--version prints the package version', async () => {
    const r = await blk(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${pkg.version}\n`);
  });

  it.each(COMMANDS)('%s --help prints its usage and examples, exit 0', async (name) => {
    for (const args of [
      [name, '--help'],
      [name, '-h'],
      ['help', name],
    ]) {
      const r = await blk(args);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(new RegExp(`^Usage: blk ${name}\\b`));
      expect(r.stdout).toMatch(/Examples?:\n {2}\S/);
    }
  });

  it('refuses an unknown command with one line and exit 2', async () => {
    const r = await blk(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(`blk: unknown command 'frobnicate' (commands: ${COMMANDS.join(', ')})`);
    const help = await blk(['help', 'frobnicate']);
    expect(help.code).toBe(2);
    expect(help.stderr).toContain("help: unknown command 'frobnicate'");
  });

  it.each([
    [['info'], 'blk: info: missing SPEC'],
    [['info', 'ram:1M', 'ram:2M'], "blk: info: unexpected argument 'ram:2M'"],
    [['info', '--colour', 'ram:1M'], "blk: info: Unknown option '--colour'"],
    [['map'], 'blk: map: missing SPEC'],
    [['copy', 'ram:1M'], 'blk: copy: missing DST'],
    [['copy'], 'blk: copy: missing SRC DST'],
    [['copy', 'ram:1M', 'ram:1M', '--chunk', 'big'], "blk: copy: --chunk: bad size 'big'"],
    [['copy', 'ram:1M', 'ram:1M', '--chunk', '0'], 'blk: copy: --chunk must be more than 0 bytes'],
    [['copy', 'ram:1M', 'ram:1M', '--progress', 'fancy'], "blk: copy: bad --progress 'fancy'"],
    [['xenstored'], 'blk: xenstored: --socket PATH is required'],
    [['xenstored', '--socket'], "blk: xenstored: Option '--socket <value>' argument missing"],
    [['bench', 'ram:1M', 'extra'], "blk: bench: unexpected argument 'extra'"],
    [['info', 'disk.img'], "blk: info: bad device spec 'disk.img': expected ram:SIZE"],
    [['info', 'ram:10Q'], "blk: info: bad device spec 'ram:10Q': bad size '10Q': unknown suffix 'Q'"],
    [['copy', 'ram:1M', 'nbd+unix:///'], "blk: copy: bad device spec 'nbd+unix:///': nbd+unix needs ?socket=PATH"],
  ])('%j is a usage error: %s', async (args, message) => {
    const r = await blk(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const [first, second, ...rest] = r.stderr.split('\n');
    expect(first!.startsWith(message)).toBe(true);
    expect(second).toBe(`Run 'blk ${args[0]!} --help' for usage.`);
    expect(rest).toEqual(['']);
  });

  it('treats --help after -- as an argument, not a request for help', async () => {
    const r = await blk(['info', '--', '--help']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("bad device spec '--help'");
  });
});
