import { EXIT } from './cli-error.js';

interface OutputStream {
  on(event: 'error', listener: (error: Error & { code?: string }) => void): unknown;
}

/**
 * A reader that goes away (`blk info … | head -1`) ends `blk` the way SIGPIPE ends a C tool: at
 * once, quietly, with status 141. Node ignores SIGPIPE, so the write fails with EPIPE instead and
 * would otherwise crash with a stack trace. EPIPE on stderr only stops the diagnostics: the work
 * goes on. Any other stream error is rethrown.
 */
export function endQuietlyOnBrokenPipe(stdout: OutputStream, stderr: OutputStream, exit: (code: number) => void): void {
  stdout.on('error', (error) => {
    if (error.code !== 'EPIPE') throw error;
    exit(EXIT.BROKEN_PIPE);
  });
  stderr.on('error', (error) => {
    if (error.code !== 'EPIPE') throw error;
  });
}
