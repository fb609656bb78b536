/**
 * Engine costs on a real cluster: a no-op `pulumi preview` of a deployed
 * stack against a no-op preview of a one-resource stack (the engine's
 * floor), and `pulumi up` of a version bump until the Deployment is Available.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO, startCluster, testEnv, toolPath, venv } from "../test/e2e/support/environment";
import { HANDLER, makeModel } from "../test/e2e/support/models";
import { PulumiProject } from "../test/e2e/support/project";
import { runOk } from "../test/e2e/support/run";
import { median, row, sideBySide, time } from "./measure";

export async function benchPulumi(work: string, runs: number): Promise<string[]> {
    const pythonEnv = venv();
    const cluster = startCluster("bench", { ...process.env, PATH: toolPath() });
    try {
        const env = testEnv(cluster.kubeconfig, path.join(pythonEnv, "bin"));
        const project = new PulumiProject(env);
        const store = path.join(work, "store");
        const model = await makeModel(pythonEnv, path.join(work, "model"), 1);
        const config = (version: string) => ({
            namespace: "bench",
            createNamespace: true,
            modelName: "demo",
            modelVersion: version,
            serializedFile: model.serializedFile,
            handler: HANDLER,
            extraFiles: [model.labels],
            archiverCommand: path.join(pythonEnv, "bin", "torch-model-archiver"),
            modelStorePath: store,
            modelStoreHostPath: store,
            modelStoreProtect: false,
            cpuRequest: "100m",
            memoryRequest: "128Mi",
        });
        await project.initStack("bench", config("v0"));
        await runOk("pulumi", ["up", "--stack", "bench", "--yes", "--skip-preview", "--non-interactive"], {
            cwd: project.dir,
            env,
        });

        // The floor: the same engine, provider and cluster, one ConfigMap.
        const floor = fs.mkdtempSync(path.join(work, "floor-"));
        fs.writeFileSync(
            path.join(floor, "Pulumi.yaml"),
            "name: floor\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n",
        );
        fs.writeFileSync(
            path.join(floor, "index.js"),
            'const k8s = require("@pulumi/kubernetes");\nnew k8s.core.v1.ConfigMap("floor", { metadata: { namespace: "default" }, data: { a: "b" } });\n',
        );
        fs.symlinkSync(path.join(REPO, "node_modules"), path.join(floor, "node_modules"));
        await runOk("pulumi", ["stack", "init", "floor", "--non-interactive"], { cwd: floor, env });
        await runOk("pulumi", ["up", "--stack", "floor", "--yes", "--skip-preview", "--non-interactive"], {
            cwd: floor,
            env,
        });

        const previews = await sideBySide(
            {
                "one-resource stack (floor)": () =>
                    runOk("pulumi", ["preview", "--stack", "floor", "--expect-no-changes", "--non-interactive"], {
                        cwd: floor,
                        env,
                    }),
                "torchserve-stack dev stack": () =>
                    runOk("pulumi", ["preview", "--stack", "bench", "--expect-no-changes", "--non-interactive"], {
                        cwd: project.dir,
                        env,
                    }),
            },
            runs,
        );
        const bumps: number[] = [];
        for (let i = 1; i <= runs; i++) {
            await project.setConfig("bench", config(`v${i}`));
            bumps.push(
                await time(() =>
                    runOk("pulumi", ["up", "--stack", "bench", "--yes", "--skip-preview", "--non-interactive"], {
                        cwd: project.dir,
                        env,
                    }),
                ),
            );
        }
        await runOk("pulumi", ["destroy", "--stack", "floor", "--yes", "--skip-preview", "--non-interactive"], {
            cwd: floor,
            env,
        });
        await project.destroy("bench");
        const floorSeconds = previews["one-resource stack (floor)"];
        return [
            "| pulumi | median s | × floor |",
            "| --- | --- | --- |",
            ...Object.entries(previews).map(([name, seconds]) =>
                row([`no-op preview: ${name}`, seconds, seconds / floorSeconds]),
            ),
            row(["`pulumi up` of a version bump until Available", median(bumps), "–"]),
        ];
    } finally {
        cluster.stop();
    }
}
