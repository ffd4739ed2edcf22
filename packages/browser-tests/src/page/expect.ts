import {
  ASYMMETRIC_MATCHERS_OBJECT,
  ChaiStyleAssertions,
  GLOBAL_EXPECT,
  JestAsymmetricMatchers,
  JestChaiExpect,
  JestExtend,
  chai,
  customMatchers,
  getState,
  setState,
} from '@vitest/expect';
import type { ExpectStatic } from '@vitest/expect';

chai.use(JestExtend);
chai.use(JestChaiExpect);
chai.use(ChaiStyleAssertions);
chai.use(JestAsymmetricMatchers);

/**
 * Vitest's `expect` (chai with vitest's matchers), put together as vitest itself does but without
 * its runner: what the test files' `expect(...)` calls get in the page.
 */
function createExpect(): ExpectStatic {
  const expect = ((value: unknown, message?: string) => chai.expect(value, message)) as unknown as ExpectStatic;
  Object.assign(expect, chai.expect);
  Object.assign(expect, (globalThis as Record<PropertyKey, unknown>)[ASYMMETRIC_MATCHERS_OBJECT]);
  expect.getState = () => getState(expect);
  expect.setState = (state) => {
    setState(state, expect);
  };
  setState(
    {
      assertionCalls: 0,
      isExpectingAssertions: false,
      isExpectingAssertionsError: null,
      expectedAssertionsNumber: null,
      expectedAssertionsNumberErrorGen: null,
      currentTestName: '',
    },
    expect,
  );
  expect.assert = chai.assert;
  expect.extend = (matchers) => {
    (chai.expect as unknown as { extend: (target: ExpectStatic, added: typeof matchers) => void }).extend(expect, matchers);
  };
  expect.unreachable = (message?: string) => {
    chai.assert.fail(`expected${message ? ` "${message}" ` : ' '}not to be reached`);
  };
  expect.extend(customMatchers);
  return expect;
}

export const expect: ExpectStatic = createExpect();
Object.defineProperty(globalThis, GLOBAL_EXPECT, { value: expect, writable: true, configurable: true });
