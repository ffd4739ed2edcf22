/** What `promise` rejects with; fails the test when it fulfils, or rejects with something not an Error. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`expected a rejection with an Error, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected a rejection');
}
