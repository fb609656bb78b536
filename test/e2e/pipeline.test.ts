/**
 * Pull requests and pipelines as users run them, on the real engine and a
 * real kube-apiserver (kwok nodes): the training pipeline deploys each model
 * with the deploy command (`node bin/deploy/main.js`, the Automation API), and
 * a pull request's runner — a fresh checkout with the committed stack file,
 * the stack's state and cluster access, and no model files and no model store
 * — runs exactly the commands of `.github/workflows/preview.yml`; `up` from
 * main runs exactly those of `deploy.yml`. The committed stack file holds
 * infrastructure only.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { tempDir } from "../support/tempDir";
import { jobSteps, readWorkflow, stepsOfKind } from "../pipelines/support/workflowCommands";
import { Cluster, REPO, startCluster, testEnv, toolPath, venv } from "./support/environment";
import { Kube } from "./support/kube";
import { HANDLER, listDir, makeModel } from "./support/models";
import { PulumiProject } from "./support/project";
import { RunResult, run, runOk } from "./support/run";
import { serviceAccountEnv } from "./support/serviceAccount";
import { DeployRun, runDeployCommand, trainingRunFlags } from "./support/deployCommand";

const STACK = "flow";
const NAMESPACE = "e2e-flow";
const RELATIVE_HANDLER = "model/handler.py";

describe("pipelines and pull requests, as users run them", () => {
    let cluster: Cluster;
    let env: NodeJS.ProcessEnv;
    let kube: Kube;
    let pythonEnv: string;
    /** The pipeline's checkout (the deployer image's /app): it mounts the store and gets the model files. */
    let pipeline: PulumiProject;
    /** A pull request's runner: a fresh checkout with the committed stack file only. */
    let runner: PulumiProject;
    /** Everything of the pipeline's machine: the store, the model files, the handler. */
    const work = tempDir("e2e-flow-");
    const store = path.join(work, "store");
    /** The handler as a pipeline passes it: an absolute path on the pipeline's machine. */
    const handler = path.join(work, "handler.py");
    const part = path.join(store, NAMESPACE, "torchserve");
    const models: { serializedFile: string; labels: string }[] = [];

    /** What the committed Pulumi.flow.yaml holds: infrastructure only, no model. */
    const committed: Record<string, unknown> = {
        namespace: NAMESPACE,
        createNamespace: true,
        modelName: "demo",
        // Where the pipeline's deploy step mounts the model-store claim.
        modelStorePath: store,
        modelStoreHostPath: store,
        modelStoreSize: "1Gi",
        modelStoreProtect: false,
        servedVersions: 2,
        replicas: 2,
        cpuRequest: "100m",
        memoryRequest: "128Mi",
        rolloutTimeoutMinutes: 2,
    };

    /** The deploy command, as a pipeline step calls it; the summary is its last stdout line. */
    const deploy = (args: string[], extraEnv: NodeJS.ProcessEnv = env): Promise<DeployRun> =>
        runDeployCommand(pipeline.dir, args, { cwd: work, env: extraEnv, timeoutMs: 10 * 60_000 });

    const modelFlags = (index: number, version: string): string[] =>
        trainingRunFlags(STACK, version, models[index], handler, pythonEnv);

    /**
     * Runs the `pulumi/actions` step of a workflow job exactly as the action does (login, select the stack,
     * the operation with its flags), in `checkout`; returns the operation's result and the engine's events.
     */
    async function runWorkflowPulumiStep(
        workflowFile: string,
        jobId: string,
        checkout: PulumiProject,
    ): Promise<{ result: RunResult; changed: { op: string; name: string }[] }> {
        const workflow = readWorkflow(path.join(REPO, ".github", "workflows", workflowFile));
        const eventLog = path.join(tempDir("e2e-events-"), "events.jsonl");
        const steps = jobSteps(
            workflow,
            jobId,
            {
                matrix: { stack: STACK },
                secrets: { PULUMI_BACKEND_URL: env.PULUMI_BACKEND_URL!, PULUMI_CONFIG_PASSPHRASE: "e2e" },
            },
            { workspace: checkout.dir, eventLog },
        );
        const [step] = stepsOfKind(steps, "pulumi");
        const stepEnv = { ...env, ...step.env, PULUMI_CONFIG_PASSPHRASE: "e2e" };
        await runOk("pulumi", [...step.pulumi.login], { cwd: step.pulumi.workDir, env: stepEnv });
        await runOk("pulumi", [...step.pulumi.selectStack], { cwd: step.pulumi.workDir, env: stepEnv });
        const result = await run("pulumi", [...step.pulumi.operation], {
            cwd: step.pulumi.workDir,
            env: { ...stepEnv, ...step.pulumi.operationEnv },
            timeoutMs: 10 * 60_000,
        });
        const events = fs.existsSync(eventLog)
            ? fs
                  .readFileSync(eventLog, "utf8")
                  .trim()
                  .split("\n")
                  .filter(Boolean)
                  .map((line) => JSON.parse(line))
            : [];
        const changed = events
            .map((e: any) => e.resourcePreEvent?.metadata)
            .filter((m: any) => m && m.op !== "same" && m.op !== "read" && m.type !== "pulumi:pulumi:Stack")
            .map((m: any) => ({ op: m.op, name: m.urn.split("::").pop() }));
        return { result, changed };
    }

    /**
     * Runs `during` as on a pull request's runner, which has none of the pipeline's machine: the store,
     * the model files and the handler are moved away for its duration (every path the stack's config and
     * state name is then missing), and put back after.
     */
    async function withoutPipelineFiles<T>(during: () => Promise<T>): Promise<T> {
        const hidden = `${work}.away`;
        fs.renameSync(work, hidden);
        try {
            for (const missing of [store, handler, models[0].serializedFile, models[0].labels]) {
                assert.equal(fs.existsSync(missing), false, `${missing} is not on the runner`);
            }
            return await during();
        } finally {
            fs.renameSync(hidden, work);
        }
    }

    async function deployment(): Promise<any> {
        return kube.json(["get", "deployment", "torchserve", "-n", NAMESPACE]);
    }

    before(async () => {
        pythonEnv = venv();
        cluster = startCluster(`e2e-flow-${process.pid}`, { ...process.env, PATH: toolPath() });
        env = testEnv(cluster.kubeconfig, path.join(pythonEnv, "bin"));
        kube = new Kube(env);
        pipeline = new PulumiProject(env);
        runner = new PulumiProject(env);
        fs.mkdirSync(path.join(pipeline.dir, path.dirname(RELATIVE_HANDLER)));
        fs.copyFileSync(HANDLER, path.join(pipeline.dir, RELATIVE_HANDLER));
        fs.mkdirSync(store);
        fs.copyFileSync(HANDLER, handler);
        for (let i = 0; i < 3; i++) {
            models.push(await makeModel(pythonEnv, path.join(work, `run-${i + 1}`), i + 1));
        }
        await pipeline.initStack(STACK, committed);
        // The same committed file (with its secrets salt) in the PR's checkout.
        fs.copyFileSync(pipeline.stackFile(STACK), runner.stackFile(STACK));
    });

    after(async () => {
        if (pipeline) {
            await pipeline.destroy(STACK);
        }
        cluster?.stop();
    });

    it("deploys a trained model through the deploy command: JSON summary, exit code 0", async () => {
        const { code, summary, stderr } = await deploy(modelFlags(0, "v1"));
        assert.equal(code, 0, stderr);
        assert.match(stderr, /Updating \(flow\)|Resources:/, "the engine's progress is streamed");
        assert.equal(summary.result, "succeeded");
        assert.equal(summary.exitCode, 0);
        assert.equal(summary.failure, null);
        assert.equal(summary.modelName, "demo");
        assert.equal(summary.modelVersion, "v1");
        assert.equal(summary.previousModelVersion, null);
        assert.deepEqual(summary.loadedVersions, ["v1"]);
        assert.equal(summary.predictionUrl, `http://torchserve.${NAMESPACE}.svc:8080/predictions/demo`);
        assert.ok(
            summary.rolloutSeconds > 0 && summary.rolloutSeconds < summary.durationSeconds,
            JSON.stringify(summary),
        );
        assert.ok(summary.changes.create > 5, JSON.stringify(summary.changes));
        assert.equal(summary.outputs.release.version, "v1");
        console.log(`deploy command summary (v1):\n${JSON.stringify(summary, null, 2).slice(0, 1500)}`);
        const committedText = fs.readFileSync(pipeline.stackFile(STACK), "utf8");
        assert.doesNotMatch(committedText, /serializedFile|modelVersion/, "the committed stack file is never edited");
        assert.deepEqual(listDir(part), ["demo.v1"]);
    });

    it("previews an unchanged PR on a runner with no model files and no store: no changes", async () => {
        assert.equal(fs.existsSync(path.join(runner.dir, RELATIVE_HANDLER)), false, "no model files on the runner");
        const { result, changed, expectNoChanges } = await withoutPipelineFiles(async () => ({
            ...(await runWorkflowPulumiStep("preview.yml", "preview", runner)),
            expectNoChanges: await runner.preview(STACK, ["--expect-no-changes"]),
        }));
        assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
        assert.deepEqual(changed, [], "nothing would change");
        assert.equal(expectNoChanges.code, 0, `${expectNoChanges.stdout}\n${expectNoChanges.stderr}`);
        console.log(`PR runner, unchanged stack (preview.yml's command):\n${result.stdout.trim()}`);
    });

    it("previews a PR that changes replicas and batchSize as exactly that: no version change, no archive step", async () => {
        await runner.setConfig(STACK, { replicas: 3, batchSize: 4 });
        const { result, changed } = await withoutPipelineFiles(() =>
            runWorkflowPulumiStep("preview.yml", "preview", runner),
        );
        assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
        const summary = changed.map((c) => `${c.op} ${c.name}`).sort();
        assert.deepEqual(
            [...new Set(changed.map((c) => c.name))].sort(),
            ["torchserve-config", "torchserve-deployment"],
            `only the ConfigMap (a new one) and the Deployment: ${summary.join(", ")}`,
        );
        assert.ok(summary.includes("update torchserve-deployment"), summary.join(", "));
        assert.match(result.stdout, /replicas\s*:\s*2 => 3/, result.stdout);
        assert.doesNotMatch(result.stdout, /app\.kubernetes\.io\/version/, "no version change");
        console.log(
            `PR runner, replicas 2 -> 3 and batchSize 1 -> 4 (preview.yml's command):\n${result.stdout.trim()}`,
        );
    });

    it("keeps the pipeline's model when main deploys the merged infra change after a new model (no rollback)", async () => {
        const v2 = await deploy(modelFlags(1, "v2"));
        assert.equal(v2.code, 0, v2.stderr);
        assert.deepEqual(v2.summary.loadedVersions, ["v2", "v1"]);
        // The PR merges: main's checkout is the runner's (replicas 3, batchSize 4), run by deploy.yml's `up` job.
        const { result } = await runWorkflowPulumiStep("deploy.yml", "up", runner);
        assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
        const d = await deployment();
        assert.equal(d.spec.template.metadata.labels["app.kubernetes.io/version"], "v2", "still the pipeline's v2");
        assert.equal(d.spec.replicas, 3);
        assert.equal(d.status.availableReplicas, 3);
        const configMapName = d.spec.template.spec.volumes.find((v: any) => v.name === "config").configMap.name;
        const properties = (await kube.json(["get", "configmap", configMapName, "-n", NAMESPACE])).data[
            "config.properties"
        ];
        assert.match(properties, /^load_models=demo\.v2,demo\.v1$/m);
        assert.match(properties, /"batchSize":4/);
        // And the runner is clean again.
        const again = await runner.preview(STACK, ["--expect-no-changes"]);
        assert.equal(again.code, 0, `${again.stdout}\n${again.stderr}`);
        // The pipeline's own checkout still has replicas 2 committed: its next deploy would show that, so
        // pipelines deploy from main's checkout (the deployer image is rebuilt on merge; README).
        await pipeline.setConfig(STACK, { replicas: 3, batchSize: 4 });
    });

    it("previews a PR that rolls the model back on purpose as the version roll", async () => {
        await runner.setConfig(STACK, { modelVersion: "v1" });
        const { result, changed } = await runWorkflowPulumiStep("preview.yml", "preview", runner);
        await runner.setConfig(STACK, { modelVersion: undefined });
        assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
        assert.match(result.stdout, /app\.kubernetes\.io\/version\s*:\s*"v2" => "v1"/);
        const names = changed.map((c) => c.name);
        assert.ok(names.includes("torchserve-archive") && names.includes("torchserve-deployment"), names.join(", "));
    });

    it("exits 2 for bad input and 3 for a failed archive step, saying why, with nothing deployed", async () => {
        const badFlag = await deploy(["--stack", STACK, "--modle-version", "v9"]);
        assert.equal(badFlag.code, 2);
        assert.equal(badFlag.summary.failure.kind, "bad-input");
        assert.match(badFlag.summary.failure.message, /modle-version/);

        const badValue = await deploy(["--stack", STACK, "--model-version", "v/9", ...modelFlags(2, "v3").slice(4)]);
        assert.equal(badValue.code, 2, badValue.stderr);
        assert.equal(badValue.summary.failure.kind, "bad-input");
        assert.match(badValue.summary.failure.message, /modelVersion = "v\/9": must be a Kubernetes label value/);
        assert.doesNotMatch(badValue.summary.failure.message, /^\s+at /m, "the message, not a stack trace");

        const failingArchiver = path.join(work, "archiver-that-fails");
        fs.writeFileSync(failingArchiver, "#!/bin/sh\necho 'archiver: out of disk' >&2\nexit 5\n", { mode: 0o755 });
        const archive = await deploy([...modelFlags(2, "v3"), "--archiver-command", failingArchiver]);
        assert.equal(archive.code, 3, archive.stderr);
        assert.equal(archive.summary.failure.kind, "archive");
        assert.match(
            archive.summary.failure.message,
            /failed with exit code 5; the store and the running Deployment are unchanged/,
        );
        assert.equal(archive.summary.modelVersion, "v2", "still serving v2");
        assert.equal((await deployment()).spec.template.metadata.labels["app.kubernetes.io/version"], "v2");
        assert.deepEqual(listDir(part), ["demo.v1", "demo.v2"], "no partial archive");

        const unknownStack = await deploy(["--stack", "nope", "--model-version", "v2"]);
        assert.equal(unknownStack.code, 2);
        assert.match(unknownStack.summary.failure.message, /stack nope does not exist/);
    });

    it("takes an organization-qualified stack name and refuses a stack file that is not YAML with exit 2", async () => {
        // The committed file is Pulumi.flow.yaml whatever the organization and project: its own name.
        const qualified = await deploy(["--stack", "organization/torchserve-stack/flow", "--preview"]);
        assert.equal(qualified.code, 0, qualified.stderr);
        assert.equal(qualified.summary.stack, "organization/torchserve-stack/flow");
        assert.equal(qualified.summary.modelVersion, "v2");
        assert.deepEqual(qualified.summary.changedResources, [], "the committed file was read: nothing changes");
        const otherOrganization = await deploy(["--stack", "acme/flow", "--preview"]);
        assert.equal(otherOrganization.code, 2, otherOrganization.stderr);
        assert.match(otherOrganization.summary.failure.message, /^--stack acme\/flow: organization name must be/);

        const stackFile = pipeline.stackFile(STACK);
        const text = fs.readFileSync(stackFile, "utf8");
        fs.writeFileSync(stackFile, `${text}  torchserve-stack:replicas: [\n`);
        const broken = await deploy(["--stack", STACK, "--model-version", "v2"]).finally(() =>
            fs.writeFileSync(stackFile, text),
        );
        assert.equal(broken.code, 2, broken.stderr);
        assert.equal(broken.summary.failure.kind, "bad-input");
        assert.match(broken.summary.failure.message, new RegExp(`^${stackFile} is not valid YAML: .+ at line \\d+`));
    });

    it("previews with --preview and deploys with the pod's service-account credentials (no KUBECONFIG)", async () => {
        // The same inputs with a memory limit below what a pod needs: the program warns (as pulumi preview does).
        await pipeline.setConfig(STACK, { memoryRequest: "64Mi", memoryLimit: "64Mi" });
        const preview = await deploy([...modelFlags(2, "v3"), "--preview"]);
        await pipeline.setConfig(STACK, { memoryRequest: committed.memoryRequest, memoryLimit: undefined });
        assert.equal(preview.code, 0, preview.stderr);
        const planned = preview.summary;
        console.log(`deploy command summary (--preview of v3):\n${JSON.stringify(planned, null, 2).slice(0, 1500)}`);
        assert.equal(planned.operation, "preview");
        assert.deepEqual(
            [planned.modelName, planned.modelVersion, planned.previousModelVersion, planned.loadedVersions],
            ["demo", "v3", "v2", ["v3", "v2"]],
            "what it would deploy, and what is deployed now",
        );
        assert.equal(planned.predictionUrl, `http://torchserve.${NAMESPACE}.svc:8080/predictions/demo`);
        assert.ok(planned.changes.update >= 1, JSON.stringify(planned.changes));
        const changedNames = planned.changedResources.map((r: any) => `${r.op} ${r.name}`);
        assert.ok(changedNames.includes("update torchserve-deployment"), changedNames.join(", "));
        assert.ok(
            changedNames.includes("create torchserve-archive") || changedNames.includes("replace torchserve-archive"),
            changedNames.join(", "),
        );
        const memoryWarning = /^memoryLimit 64Mi is below /;
        assert.ok(
            planned.warnings.some((w: string) => memoryWarning.test(w)),
            JSON.stringify(planned.warnings),
        );
        assert.match(preview.stderr, /\] warning: memoryLimit 64Mi is below /, "in the closing lines");
        assert.match(
            preview.stderr,
            /\] preview: would deploy demo v3 \(deployed now: v2\), loaded v3, v2; .*\d+ to update/,
        );
        assert.equal(
            (await deployment()).spec.template.metadata.labels["app.kubernetes.io/version"],
            "v2",
            "a preview deploys nothing",
        );

        // As in a pipeline pod: a service account's token, the cluster's CA and the API server's address.
        await runOk("kubectl", ["create", "serviceaccount", "deployer", "-n", "default"], { env });
        await runOk(
            "kubectl",
            [
                "create",
                "clusterrolebinding",
                "deployer",
                "--clusterrole",
                "cluster-admin",
                "--serviceaccount",
                "default:deployer",
            ],
            { env },
        );
        const podEnv = await serviceAccountEnv(env, cluster.kubeconfig, "default", "deployer");
        const inPod = await deploy(modelFlags(2, "v3"), podEnv);
        assert.equal(inPod.code, 0, inPod.stderr);
        assert.match(inPod.stderr, /using the pod's service account/);
        assert.equal(inPod.summary.modelVersion, "v3");
        assert.equal((await deployment()).spec.template.metadata.labels["app.kubernetes.io/version"], "v3");
    });
});
