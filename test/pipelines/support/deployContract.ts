/**
 * The deploy entry point's command line as agreed (pipelines/kubeflow/README.md
 * and the deploy issue): what the KFP component and the deploy workflow may
 * pass to `node bin/deploy/main.js` / `npm run deploy --`.
 */
export const DEPLOY_ENTRY = "bin/deploy/main.js";

/** Flags that take a value; `repeatable` ones may appear more than once. */
export const DEPLOY_VALUE_FLAGS: Readonly<Record<string, { repeatable: boolean }>> = {
    "--stack": { repeatable: false },
    "--project-dir": { repeatable: false },
    "--serialized-file": { repeatable: false },
    "--handler": { repeatable: false },
    "--extra-file": { repeatable: true },
    "--requirements-file": { repeatable: false },
    "--model-version": { repeatable: false },
    "--model-store-path": { repeatable: false },
    "--archiver-command": { repeatable: false },
    "--summary-file": { repeatable: false },
};

/** Flags without a value. */
export const DEPLOY_SWITCHES: readonly string[] = ["--preview"];

/** Splits argv into flag -> values, failing on anything the contract does not have. */
export function parseDeployArgs(argv: readonly string[]): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i];
        if (DEPLOY_SWITCHES.includes(flag)) {
            out.set(flag, [...(out.get(flag) ?? []), ""]);
            continue;
        }
        const spec = DEPLOY_VALUE_FLAGS[flag];
        if (!spec) throw new Error(`'${flag}' (argument ${i + 1}) is not a deploy flag`);
        if (i + 1 >= argv.length) throw new Error(`${flag} has no value`);
        const values = [...(out.get(flag) ?? []), argv[++i]];
        if (values.length > 1 && !spec.repeatable) throw new Error(`${flag} given twice`);
        out.set(flag, values);
    }
    if (!out.has("--stack")) throw new Error("--stack is required");
    return out;
}
