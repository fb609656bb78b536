/**
 * A version bump through the pipeline's deploy command (`node
 * bin/deploy/main.js`, the Automation API) against its floor on the same
 * local cluster: what the original deploy step did, `kubectl apply` of the
 * same objects (a new ConfigMap and the Deployment with the new version) plus
 * `kubectl rollout status`. Cases interleaved, medians of several runs. The
 * deploy command also archives the new version (the real archiver, the
 * fixture model), so the archiver alone is measured too, and where the rest of
 * the deploy command's time goes is read from its own timeline (engine events).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { startCluster, testEnv, toolPath, venv } from "../test/e2e/support/environment";
import { HANDLER, makeModel } from "../test/e2e/support/models";
import { PulumiProject } from "../test/e2e/support/project";
import { runOk } from "../test/e2e/support/run";
import { median, row } from "./measure";

export async function benchDeploy(work: string, runs: number): Promise<string[]> {
    const pythonEnv = venv();
    const cluster = startCluster(`bench-deploy-${process.pid}`, { ...process.env, PATH: toolPath() });
    try {
        const env = testEnv(cluster.kubeconfig, path.join(pythonEnv, "bin"));
        const project = new PulumiProject(env);
        const store = path.join(work, "store");
        fs.mkdirSync(store, { recursive: true });
        const model = await makeModel(pythonEnv, path.join(work, "model"), 1);
        const archiver = path.join(pythonEnv, "bin", "torch-model-archiver");
        await project.initStack("bench", {
            namespace: "bench",
            createNamespace: true,
            modelName: "demo",
            modelStorePath: store,
            modelStoreHostPath: store,
            modelStoreProtect: false,
            cpuRequest: "100m",
            memoryRequest: "128Mi",
        });
        let version = 0;
        const deployCommand = async () => {
            version++;
            const result = await runOk(
                process.execPath,
                [
                    path.join(project.dir, "bin", "deploy", "main.js"),
                    ...["--stack", "bench", "--model-version", `v${version}`, "--archiver-command", archiver],
                    ...["--serialized-file", model.serializedFile, "--handler", HANDLER, "--extra-file", model.labels],
                ],
                { cwd: work, env },
            );
            return JSON.parse(result.stdout.trim().split("\n").pop()!);
        };
        await deployCommand();

        // The floor: the same objects as the stack's (its live Deployment and ConfigMap, copied under another
        // name so the engine's objects are not touched), re-applied with a new version each time, as the original
        // step created/replaced them, then `kubectl rollout status`.
        const kubectl = (args: string[], input?: string) => runOk("kubectl", args, { env, input });
        const live = JSON.parse(
            (await kubectl(["get", "deployment", "torchserve", "-n", "bench", "-o", "json"])).stdout,
        );
        const liveConfigMap = live.spec.template.spec.volumes.find((v: any) => v.name === "config").configMap.name;
        const configData = JSON.parse(
            (await kubectl(["get", "configmap", liveConfigMap, "-n", "bench", "-o", "json"])).stdout,
        ).data;
        const labels = { "app.kubernetes.io/name": "torchserve", "app.kubernetes.io/instance": "floor" };
        let floorVersion = 0;
        const floor = async () => {
            floorVersion++;
            const configMap = {
                apiVersion: "v1",
                kind: "ConfigMap",
                metadata: { name: `floor-config-${floorVersion}`, namespace: "bench" },
                immutable: true,
                data: configData,
            };
            const template = structuredClone(live.spec.template);
            template.metadata.labels = {
                ...template.metadata.labels,
                ...labels,
                "app.kubernetes.io/version": `f${floorVersion}`,
            };
            template.spec.volumes.find((v: any) => v.name === "config").configMap.name = configMap.metadata.name;
            const deployment = {
                apiVersion: "apps/v1",
                kind: "Deployment",
                metadata: { name: "floor", namespace: "bench", labels },
                spec: { ...live.spec, selector: { matchLabels: labels }, template },
            };
            await kubectl(["apply", "-f", "-"], [configMap, deployment].map((o) => JSON.stringify(o)).join("\n"));
            await kubectl(["rollout", "status", "deployment/floor", "-n", "bench", "--timeout=5m"]);
        };
        await floor();
        const archiveAlone = async () => {
            const out = fs.mkdtempSync(path.join(work, "archive-"));
            await runOk(archiver, [
                ...["--model-name", "demo", "--version", "x", "--serialized-file", model.serializedFile],
                ...["--handler", HANDLER, "--extra-files", model.labels, "--export-path", out, "-f"],
            ]);
            fs.rmSync(out, { recursive: true, force: true });
        };

        const samples = {
            command: [] as number[],
            rollout: [] as number[],
            floor: [] as number[],
            archive: [] as number[],
        };
        for (let round = 0; round < runs; round++) {
            let start = performance.now();
            await floor();
            samples.floor.push((performance.now() - start) / 1000);
            start = performance.now();
            await archiveAlone();
            samples.archive.push((performance.now() - start) / 1000);
            start = performance.now();
            const summary = await deployCommand();
            samples.command.push((performance.now() - start) / 1000);
            samples.rollout.push(summary.rolloutSeconds ?? 0);
        }
        const floorSeconds = median(samples.floor);
        const command = median(samples.command);
        return [
            `| version bump on the local cluster (kwok nodes: pods are ready at once) | median s | × floor |`,
            "| --- | --- | --- |",
            row(["floor: `kubectl apply` (ConfigMap + Deployment) + `kubectl rollout status`", floorSeconds, 1]),
            row([
                "torch-model-archiver alone (the fixture model)",
                median(samples.archive),
                median(samples.archive) / floorSeconds,
            ]),
            row([
                "floor + archiver (what the original step did)",
                floorSeconds + median(samples.archive),
                (floorSeconds + median(samples.archive)) / floorSeconds,
            ]),
            row(["`npm run deploy` (archive, roll out, rotate, record)", command, command / floorSeconds]),
            row([
                "  of which the Deployment's rollout (engine events)",
                median(samples.rollout),
                median(samples.rollout) / floorSeconds,
            ]),
        ];
    } finally {
        cluster.stop();
    }
}
