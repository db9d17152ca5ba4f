/** Every benchmark: name → a function that runs it, prints its table and returns its figures. */
export const BENCHES: Record<string, () => Promise<unknown>> = {};
