/** What a test body gets: only `skip`, the part of vitest's context the @blk tests use. */
export interface TestContext {
  skip(note?: string): never;
}

export type TestBody = (context: TestContext) => unknown;
export type Hook = () => unknown;

export interface Test {
  readonly kind: 'test';
  readonly title: string;
  readonly fn: TestBody | undefined;
  readonly timeout: number | undefined;
  readonly skip: boolean;
}

export interface Suite {
  readonly kind: 'suite';
  readonly title: string;
  readonly skip: boolean;
  readonly children: (Suite | Test)[];
  readonly hooks: { beforeAll: Hook[]; afterAll: Hook[]; beforeEach: Hook[]; afterEach: Hook[] };
  readonly parent: Suite | undefined;
}

/** The file's top level: every describe and it registers below it. */
export const rootSuite: Suite = {
  kind: 'suite',
  title: '',
  skip: false,
  children: [],
  hooks: { beforeAll: [], afterAll: [], beforeEach: [], afterEach: [] },
  parent: undefined,
};
