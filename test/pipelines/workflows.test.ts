/**
 * The GitHub Actions workflows: the commands test/pipelines/support/
 * workflowCommands.ts extracts from the real files (what the e2e suite runs),
 * the pulumi/actions translation itself, and the workflows' consistency with
 * the repository (stacks, versions, pinned actions). actionlint: actionlint.test.ts.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { tempDir } from "../support/tempDir";
import { parseDeployArgs } from "./support/deployContract";
import { committedStacks, packageJson, pulumiCli, readRepoFile, repoFile, toolsPin } from "./support/repo";
import {
    DEFAULT_SHELL,
    evaluate,
    jobSteps,
    matrixValues,
    PULUMI_ACTION_SHA,
    pulumiActionCommands,
    readWorkflow,
    RunStep,
    stepsOfKind,
} from "./support/workflowCommands";

const preview = readWorkflow(repoFile(".github", "workflows", "preview.yml"));
const deploy = readWorkflow(repoFile(".github", "workflows", "deploy.yml"));
const SECRETS = {
    PULUMI_BACKEND_URL: "file:///state",
    PULUMI_CONFIG_PASSPHRASE: "pw",
    PREVIEW_KUBECONFIG: "kc-ro",
    KUBECONFIG: "kc-rw",
};
const CLI_VERSION = toolsPin("PULUMI_VERSION").replace(/^v/, "");

/** Runs a `run:` step's script the way the runner does (its shell, its env), with `npm` stubbed to print its argv. */
function runWithStubNpm(
    step: RunStep,
    extraEnv: Record<string, string>,
): { argv: string[]; files: Record<string, string> } {
    const dir = tempDir("wf-run-");
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    const argvFile = path.join(dir, "argv.json");
    fs.writeFileSync(
        path.join(bin, "npm"),
        `#!/usr/bin/env node\nrequire("fs").writeFileSync(${JSON.stringify(argvFile)}, JSON.stringify(process.argv.slice(2)));\n`,
        { mode: 0o755 },
    );
    const script = path.join(dir, "step.sh");
    fs.writeFileSync(script, step.script);
    const runnerTemp = path.join(dir, "runner-temp");
    fs.mkdirSync(runnerTemp);
    const githubEnv = path.join(dir, "github-env");
    fs.writeFileSync(githubEnv, "");
    execFileSync(step.shell[0], [...step.shell.slice(1), script], {
        env: {
            PATH: `${bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
            RUNNER_TEMP: runnerTemp,
            GITHUB_ENV: githubEnv,
            ...step.env,
            ...extraEnv,
        },
        encoding: "utf8",
    });
    const files: Record<string, string> = { GITHUB_ENV: fs.readFileSync(githubEnv, "utf8") };
    for (const f of fs.readdirSync(runnerTemp)) files[f] = fs.readFileSync(path.join(runnerTemp, f), "utf8");
    return { argv: fs.existsSync(argvFile) ? JSON.parse(fs.readFileSync(argvFile, "utf8")) : [], files };
}

describe("workflow commands (what the e2e suite repeats)", () => {
    it("preview.yml: setup, npm ci, build, kubeconfig, then pulumi preview --diff of the matrix stack with a PR comment", () => {
        const steps = jobSteps(preview, "preview", {
            matrix: { stack: "dev" },
            secrets: SECRETS,
            github: { event: { pull_request: { number: 7 } } },
        });
        assert.deepEqual(
            steps.map((s) => s.kind),
            ["uses", "uses", "run", "run", "run", "pulumi"],
        );
        const runs = stepsOfKind(steps, "run");
        assert.deepEqual(
            runs.map((r) => r.script.trim().split("\n")[0]),
            ["npm ci --ignore-scripts --no-audit --no-fund", "npm run build", "umask 077"],
        );
        assert.deepEqual(runs[0].shell, DEFAULT_SHELL);
        const [step] = stepsOfKind(steps, "pulumi");
        assert.equal(step.env.PULUMI_CONFIG_PASSPHRASE, "pw");
        assert.equal(step.env.PULUMI_SKIP_UPDATE_CHECK, "true");
        assert.deepEqual(step.pulumi, {
            command: "preview",
            stack: "dev",
            pulumiVersion: CLI_VERSION,
            workDir: "./",
            login: ["--non-interactive", "--cwd", "./", "login", "file:///state"],
            selectStack: ["stack", "select", "--stack", "dev", "--non-interactive"],
            operation: [
                "preview",
                "--diff",
                "--exec-agent",
                "pulumi/actions@v6",
                "--color",
                "auto",
                "--exec-kind",
                "auto.local",
                "--stack",
                "dev",
                "--non-interactive",
            ],
            operationEnv: { PULUMI_DEBUG_COMMANDS: "true", PULUMI_AUTOMATION_API: "true" },
            commentOnPr: true,
        });
    });

    it("preview.yml's kubeconfig step writes the secret to a private file and exports KUBECONFIG", () => {
        const step = stepsOfKind(
            jobSteps(preview, "preview", { matrix: { stack: "dev" }, secrets: SECRETS }),
            "run",
        )[2];
        const { files } = runWithStubNpm(step, {});
        assert.equal(files.kubeconfig, "kc-ro\n");
        assert.match(files.GITHUB_ENV, /^KUBECONFIG=.*\/runner-temp\/kubeconfig\n$/);
    });

    it("deploy.yml on push: pulumi up --yes --skip-preview --diff of each stack", () => {
        const steps = jobSteps(deploy, "up", {
            matrix: { stack: "dev" },
            secrets: SECRETS,
            github: { event_name: "push" },
        });
        assert.deepEqual(
            steps.map((s) => s.kind),
            ["uses", "uses", "run", "run", "run", "pulumi"],
        );
        const [step] = stepsOfKind(steps, "pulumi");
        assert.deepEqual(step.pulumi.operation, [
            "up",
            "--yes",
            "--skip-preview",
            "--diff",
            "--exec-agent",
            "pulumi/actions@v6",
            "--color",
            "auto",
            "--exec-kind",
            "auto.local",
            "--stack",
            "dev",
            "--non-interactive",
        ]);
        assert.deepEqual(step.pulumi.login, ["--non-interactive", "--cwd", "./", "login", "file:///state"]);
        assert.equal(step.pulumi.commentOnPr, false);
        assert.equal(step.env.PULUMI_CONFIG_PASSPHRASE, "pw", "workflow-level env reaches the step");
    });

    it("deploy.yml on dispatch: installs the CLI, then runs the deploy entry point with exactly the contract's flags", () => {
        const ctx = {
            inputs: { stack: "dev", "model-version": "v3" },
            vars: { MODEL_STORE_PATH: "/mnt/store" },
            secrets: SECRETS,
        };
        const steps = jobSteps(deploy, "model", ctx);
        assert.deepEqual(
            steps.map((s) => s.kind),
            ["uses", "uses", "run", "run", "run", "pulumi-install", "run", "run"],
        );
        assert.equal(stepsOfKind(steps, "pulumi-install")[0].pulumiVersion, CLI_VERSION);
        const deployStep = steps.find((s) => s.name === "Deploy") as RunStep;
        assert.equal(
            deployStep.script,
            'npm run deploy -- --stack "$STACK" --model-version "$MODEL_VERSION" --model-store-path "$MODEL_STORE_PATH" --summary-file "$RUNNER_TEMP/deploy-summary.json"',
        );
        assert.deepEqual(
            {
                STACK: deployStep.env.STACK,
                MODEL_VERSION: deployStep.env.MODEL_VERSION,
                MODEL_STORE_PATH: deployStep.env.MODEL_STORE_PATH,
                PULUMI_BACKEND_URL: deployStep.env.PULUMI_BACKEND_URL,
            },
            { STACK: "dev", MODEL_VERSION: "v3", MODEL_STORE_PATH: "/mnt/store", PULUMI_BACKEND_URL: "file:///state" },
        );
        // Run it as the runner would: a value with spaces or quotes must arrive as one argument.
        const { argv } = runWithStubNpm(deployStep, { MODEL_VERSION: "v3 'odd\"" });
        assert.deepEqual(argv.slice(0, 3), ["run", "deploy", "--"]);
        const flags = parseDeployArgs(argv.slice(3));
        assert.deepEqual(flags.get("--stack"), ["dev"]);
        assert.deepEqual(flags.get("--model-version"), ["v3 'odd\""]);
        assert.deepEqual(flags.get("--model-store-path"), ["/mnt/store"]);
        assert.match(flags.get("--summary-file")![0], /\/runner-temp\/deploy-summary\.json$/);
        assert.equal(
            flags.has("--serialized-file"),
            false,
            "a dispatch switches to an archived version: no model files",
        );
        assert.ok(
            packageJson().scripts.deploy === undefined || /bin\/deploy\/main\.js/.test(packageJson().scripts.deploy),
            "npm run deploy must run bin/deploy/main.js",
        );
    });

    it("deploy.yml's summary step copies the deploy summary into the job summary, even after a failure", () => {
        const step = stepsOfKind(
            jobSteps(deploy, "model", { inputs: { stack: "dev", "model-version": "v3" } }),
            "run",
        ).at(-1)!;
        assert.equal(step.if, "always()");
        const dir = tempDir("wf-summary-");
        const summary = path.join(dir, "summary.md");
        fs.writeFileSync(path.join(dir, "deploy-summary.json"), '{"stack":"dev"}\n');
        execFileSync(step.shell[0], [...step.shell.slice(1), "-c", step.script], {
            env: { PATH: "/usr/bin:/bin", RUNNER_TEMP: dir, GITHUB_STEP_SUMMARY: summary },
        });
        assert.equal(fs.readFileSync(summary, "utf8"), '```json\n{"stack":"dev"}\n```\n');
    });
});

describe("pulumi/actions v7.0.0 -> Pulumi CLI", () => {
    const base = { command: "preview", "stack-name": "prod" };

    it("adds the flags of the boolean and list inputs in the Automation API's order", () => {
        const c = pulumiActionCommands(
            {
                ...base,
                "expect-no-changes": "true",
                refresh: "True",
                diff: "TRUE",
                message: "m",
                target: "urn:a\nurn:b, urn:c",
                "target-dependents": "true",
                parallel: "4",
                color: "never",
                "log-verbosity": "3",
                "suppress-progress": "true",
                plan: "plan.json",
            },
            { eventLog: "/tmp/events.json" },
        );
        assert.deepEqual(c.operation, [
            "preview",
            "--message",
            "m",
            "--expect-no-changes",
            "--refresh",
            "--diff",
            "--target",
            "urn:a",
            "--target",
            "urn:b",
            "--target",
            "urn:c",
            "--target-dependents",
            "--parallel",
            "4",
            "--exec-agent",
            "pulumi/actions@v6",
            "--save-plan",
            "plan.json",
            "--color",
            "never",
            "--verbose",
            "3",
            "--logtostderr",
            "--suppress-progress",
            "--exec-kind",
            "auto.local",
            "--event-log",
            "/tmp/events.json",
            "--stack",
            "prod",
            "--non-interactive",
        ]);
    });

    it("up: --yes --skip-preview, --plan and --continue-on-error; no event log", () => {
        const c = pulumiActionCommands(
            { command: "update", "stack-name": "prod", plan: "p.json", "continue-on-error": "true" },
            { eventLog: "/tmp/e" },
        );
        assert.deepEqual(c.operation, [
            "up",
            "--yes",
            "--skip-preview",
            "--exec-agent",
            "pulumi/actions@v6",
            "--plan",
            "p.json",
            "--continue-on-error",
            "--color",
            "auto",
            "--exec-kind",
            "auto.local",
            "--stack",
            "prod",
            "--non-interactive",
        ]);
    });

    it("logs in to Pulumi Cloud without cloud-url, creates the stack with upsert, runs in work-dir", () => {
        const c = pulumiActionCommands({
            ...base,
            upsert: "true",
            "secrets-provider": "passphrase",
            "work-dir": "infra",
        });
        assert.deepEqual(c.login, ["--non-interactive", "--cwd", "infra", "login"]);
        assert.deepEqual(c.createStack, [
            "stack",
            "init",
            "prod",
            "--secrets-provider",
            "passphrase",
            "--non-interactive",
        ]);
        assert.equal(c.workDir, "infra");
        assert.equal(c.pulumiVersion, "^3");
        const inCheckout = pulumiActionCommands({ ...base, "work-dir": "infra" }, { workspace: "/w/repo" });
        assert.equal(inCheckout.workDir, "/w/repo/infra", "resolved like main.ts: resolve(GITHUB_WORKSPACE, work-dir)");
        assert.deepEqual(inCheckout.login, ["--non-interactive", "--cwd", "/w/repo/infra", "login"]);
    });

    it("refuses what it does not translate rather than guess", () => {
        assert.throws(() => pulumiActionCommands({ ...base, diff: "yes" }), /not a boolean/);
        assert.throws(() => pulumiActionCommands({ ...base, stack: "x" }), /has no input 'stack'/);
        assert.throws(() => pulumiActionCommands({ ...base, command: "destroy" }), /not translated/);
        assert.throws(() => pulumiActionCommands({ ...base, command: "deploy" }), /not one of/);
        assert.throws(() => pulumiActionCommands({ ...base, "config-map": "{a: {value: b}}" }), /config-map/);
        assert.throws(() => pulumiActionCommands({ command: "up" }), /stack-name/);
        assert.throws(() => pulumiActionCommands({ ...base, color: "blue" }), /color/);
    });

    it("gives commands the pinned Pulumi CLI accepts, flag for flag", () => {
        // In an empty directory every command gets past flag parsing and stops at the
        // missing project (or succeeds: login); a flag the CLI lacks would stop it first.
        // --event-log exists only with the PULUMI_DEBUG_COMMANDS=true the Automation API
        // sets (operationEnv).
        const dir = tempDir("wf-cli-");
        const state = path.join(dir, "state");
        fs.mkdirSync(state);
        const fromWorkflows = [
            ...stepsOfKind(
                jobSteps(
                    preview,
                    "preview",
                    { matrix: { stack: "dev" }, secrets: { PULUMI_BACKEND_URL: `file://${state}` } },
                    { workspace: dir, eventLog: path.join(dir, "events.json") },
                ),
                "pulumi",
            ),
            ...stepsOfKind(
                jobSteps(
                    deploy,
                    "up",
                    { matrix: { stack: "dev" }, secrets: { PULUMI_BACKEND_URL: `file://${state}` } },
                    { workspace: dir },
                ),
                "pulumi",
            ),
        ].map((s) => s.pulumi);
        const everyOption = pulumiActionCommands(
            {
                ...base,
                "expect-no-changes": "true",
                refresh: "true",
                diff: "true",
                message: "m",
                replace: "urn:r",
                target: "urn:t",
                "target-dependents": "true",
                parallel: "2",
                plan: "plan.json",
                color: "never",
                "log-flow": "true",
                "log-verbosity": "1",
                debug: "true",
                "suppress-outputs": "true",
                "suppress-progress": "true",
                policyPacks: "packs",
                policyPackConfigs: "packs.json",
            },
            { workspace: dir, eventLog: path.join(dir, "events.json") },
        );
        // --exclude and --target may not be combined (the CLI refuses), so exclude on its own.
        const exclude = pulumiActionCommands(
            { ...base, exclude: "urn:e", "exclude-dependents": "true" },
            { workspace: dir },
        );
        const everyUpOption = pulumiActionCommands(
            { command: "up", "stack-name": "prod", plan: "plan.json", "continue-on-error": "true" },
            { workspace: dir },
        );
        const cli = pulumiCli();
        const env = {
            PATH: process.env.PATH,
            HOME: dir,
            PULUMI_HOME: path.join(dir, ".pulumi"),
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_BACKEND_URL: `file://${state}`,
            PULUMI_CONFIG_PASSPHRASE: "x",
        };
        for (const c of [...fromWorkflows, everyOption, exclude, everyUpOption]) {
            const login = spawnSync(cli, c.login, { cwd: dir, env, encoding: "utf8" });
            assert.equal(login.status, 0, `pulumi ${c.login.join(" ")}: ${login.stderr}`);
            for (const argv of [c.selectStack, c.operation]) {
                const r = spawnSync(cli, argv, {
                    cwd: c.workDir,
                    env: { ...env, ...c.operationEnv },
                    encoding: "utf8",
                });
                assert.doesNotMatch(r.stderr, /unknown (flag|shorthand)/, `pulumi ${argv.join(" ")}`);
                // past flag parsing: stopped by the missing project (stack select: by the unqualified name outside one)
                assert.match(
                    r.stderr,
                    /no Pulumi\.yaml project file found|pass the fully qualified name/,
                    `pulumi ${argv.join(" ")}: ${r.stderr}`,
                );
            }
        }
        const bogus = spawnSync(cli, ["preview", "--no-such-flag", "--stack", "dev", "--non-interactive"], {
            cwd: dir,
            env,
            encoding: "utf8",
        });
        assert.match(bogus.stderr, /unknown flag: --no-such-flag/, "the CLI does reject unknown flags");
    });

    it("evaluates the workflows' expressions and refuses others", () => {
        assert.equal(
            evaluate("${{ matrix.stack }}-${{ inputs.model-version }}", {
                matrix: { stack: "a" },
                inputs: { "model-version": "v1" },
            }),
            "a-v1",
        );
        assert.equal(evaluate("${{ secrets.NOPE }}|${{ vars.X || 'dflt' }}", {}), "|dflt");
        assert.equal(evaluate("${{ inputs['model-version'] }}", { inputs: { "model-version": "v2" } }), "v2");
        assert.throws(() => evaluate("${{ matrix.stack }}", {}), /no 'stack'/);
        assert.throws(() => evaluate("${{ fromJSON(vars.X) }}", {}), /unsupported expression/);
        assert.throws(() => evaluate("${{ steps.x.outputs.y }}", {}), /unsupported context/);
    });
});

describe("workflows against the repository", () => {
    it("preview and deploy every committed stack, and offer exactly those for a model switch", () => {
        const stacks = committedStacks();
        assert.ok(stacks.length > 0);
        assert.deepEqual([...matrixValues(preview, "preview", "stack")].sort(), stacks);
        assert.deepEqual([...matrixValues(deploy, "up", "stack")].sort(), stacks);
        const dispatch = (deploy.on.workflow_dispatch as any).inputs;
        assert.deepEqual([...dispatch.stack.options].sort(), stacks);
        assert.equal(dispatch.stack.required, true);
        assert.equal(dispatch["model-version"].required, true);
    });

    it("use the repository's Pulumi CLI and Node versions", () => {
        for (const [wf, jobIds] of [
            [preview, ["preview"]],
            [deploy, ["up", "model"]],
        ] as const) {
            for (const jobId of jobIds) {
                const ctx = { matrix: { stack: "dev" }, inputs: { stack: "dev", "model-version": "v" } };
                const steps = jobSteps(wf, jobId, ctx);
                const node = stepsOfKind(steps, "uses").find((s) => s.uses.startsWith("actions/setup-node@"));
                assert.equal(node?.with["node-version"], toolsPin("NODE_MAJOR"), `${wf.name}/${jobId}: node`);
                const versions = steps.flatMap((s) =>
                    s.kind === "pulumi"
                        ? [s.pulumi.pulumiVersion]
                        : s.kind === "pulumi-install"
                          ? [s.pulumiVersion]
                          : [],
                );
                assert.deepEqual(versions, [CLI_VERSION], `${wf.name}/${jobId}: one Pulumi CLI step at ${CLI_VERSION}`);
            }
        }
    });

    it("pin every action to a full commit SHA with its tag in a comment", () => {
        for (const file of ["preview.yml", "deploy.yml"]) {
            const uses = [...readRepoFile(".github", "workflows", file).matchAll(/uses:\s*(\S+)(.*)$/gm)];
            assert.ok(uses.length > 0);
            for (const [, ref, comment] of uses) {
                assert.match(ref, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, `${file}: ${ref}`);
                assert.match(comment, /# v\d+\.\d+\.\d+$/, `${file}: ${ref} has no '# vX.Y.Z' comment`);
                if (ref.startsWith("pulumi/actions@"))
                    assert.equal(ref.split("@")[1], PULUMI_ACTION_SHA, "the translated release");
            }
        }
    });

    it("skip a fork's pull request with a notice, and preview only a branch of this repository", () => {
        const jobs = parse(readRepoFile(".github", "workflows", "preview.yml")).jobs;
        const sameRepo = "github.event.pull_request.head.repo.full_name == github.repository";
        assert.equal(jobs.preview.if, sameRepo, "the preview (with secrets) runs only for this repository's branches");
        assert.equal(jobs["fork-notice"].if, sameRepo.replace("==", "!="), "a fork's PR gets the notice instead");
        assert.deepEqual(jobs["fork-notice"].permissions, {}, "the notice job needs no token rights");
        assert.equal(jobs.preview.environment, "preview", "its own environment: read-only credentials, its own rules");
        assert.equal(jobs["fork-notice"].environment, undefined, "the notice needs no environment");
        const notice = jobs["fork-notice"].steps.map((step: { run?: string }) => step.run ?? "").join("\n");
        assert.match(notice, /^echo "::notice title=preview skipped::/m);
        assert.doesNotMatch(
            JSON.stringify(jobs["fork-notice"]),
            /secrets\.|\$\{\{/,
            "no secret, no expression in the notice",
        );
    });

    it("check out without persisting the token in the working copy", () => {
        for (const file of ["preview.yml", "deploy.yml"]) {
            const jobs = parse(readRepoFile(".github", "workflows", file)).jobs as Record<string, { steps: any[] }>;
            for (const [id, job] of Object.entries(jobs)) {
                for (const step of job.steps.filter((s) => String(s.uses ?? "").startsWith("actions/checkout@"))) {
                    assert.equal(step.with?.["persist-credentials"], false, `${file}/${id}: persist-credentials`);
                }
            }
        }
    });

    it("never cancel a queued model switch: each has a group of its own, ups share one per stack", () => {
        const jobs = parse(readRepoFile(".github", "workflows", "deploy.yml")).jobs;
        assert.deepEqual(jobs.up.concurrency, { group: "deploy-${{ matrix.stack }}", "cancel-in-progress": false });
        assert.deepEqual(jobs.model.concurrency, {
            group: "switch-${{ inputs.stack }}-${{ github.run_id }}",
            "cancel-in-progress": false,
        });
    });

    it("give the preview only what it needs: read contents, write PR comments", () => {
        assert.deepEqual(parse(readRepoFile(".github", "workflows", "preview.yml")).permissions, {
            contents: "read",
            "pull-requests": "write",
        });
        assert.deepEqual(Object.keys(preview.on), ["pull_request"]);
        assert.deepEqual(parse(readRepoFile(".github", "workflows", "deploy.yml")).permissions, { contents: "read" });
        assert.deepEqual(Object.keys(deploy.on).sort(), ["push", "workflow_dispatch"]);
    });
});
