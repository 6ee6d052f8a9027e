import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Ceilings, not expectations: conditions are waited for (20 s at most each, test/helpers), and a
    // busy machine (CI beside other work) can take several of them in one test.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration suites open real sockets and databases; files run in parallel, tests in a file in order.
    pool: 'forks',
  },
});
