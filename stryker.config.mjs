// StrykerJS over the pure builders (README "Tests", mutation score): `npm run mutate`.
// Stryker mutates the TypeScript in a sandbox copy (mutation switching: every mutant is compiled in
// once, then switched on per run), `tsc` builds that copy once, and the TAP runner runs the compiled
// unit tests with node, only the test files that cover each mutant. Not part of CI: it takes minutes.
/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
    packageManager: "npm",
    mutate: [
        "components/config/**/*.ts",
        "components/store/{archiveNames,fingerprint,modelStore,projectPaths,rotation}.ts",
        "components/store/{release,storeLayout,marContents}.ts",
        "components/torchserve/**/*.ts",
        "components/kubernetes/**/*.ts",
        "components/store/{lockLease,partOwners,storeState}.ts",
        "components/cli/{commands,stagingSweep}.ts",
        "deploy/{summary,options,runConfigFile,runReport,rbac,permissions}.ts",
        "!components/**/index.ts",
    ],
    buildCommand: "tsc -p tsconfig.json",
    testRunner: "tap",
    tap: {
        // The builders' own tests (test/unit/<folder>/): not the component under mocks (the top-level
        // torchServeStack and program tests), which covers every builder through the wiring and would run
        // for nearly every mutant (3x the time). No "!" patterns: the runner's glob does not negate.
        testFiles: ["bin/test/unit/*/**/*.test.js"],
        nodeArgs: ["--test-reporter=tap"],
    },
    coverageAnalysis: "perTest",
    // Other developers' test suites share this 2-core machine.
    concurrency: 1,
    timeoutMS: 20000,
    reporters: ["clear-text", "progress", "json", "html"],
    jsonReporter: { fileName: "reports/mutation/mutation.json" },
    htmlReporter: { fileName: "reports/mutation/mutation.html" },
    tempDirName: ".stryker-tmp",
    // Re-runs only mutants whose code or covering tests changed since the last run (results kept here).
    incremental: true,
    incrementalFile: "reports/stryker-incremental.json",
    ignorePatterns: ["bin", ".dev", ".pulumi-state", "reports"],
};
