/** One test's outcome in the browser, as the page reports it to Node. */
export interface BrowserTestResult {
  /** Titles of the enclosing describe blocks, outermost first. */
  readonly path: readonly string[];
  readonly title: string;
  readonly state: 'passed' | 'failed' | 'skipped';
  /** The reason given to `ctx.skip(note)`, or the error of a failed test. */
  readonly note?: string | undefined;
}

/** What one test file reports once it has run in the page (or why it could not). */
export interface BrowserFileReport {
  readonly results: readonly BrowserTestResult[];
  /** Set when the file failed to load or a hook outside any test threw. */
  readonly error?: string;
  /** Errors nobody caught (unhandled rejections) while the file ran: vitest fails a run for them. */
  readonly unhandled?: readonly string[];
}

/** Where the page leaves its report for Node to pick up. */
export const REPORT_GLOBAL = '__blkBrowserReport';
