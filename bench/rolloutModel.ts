/**
 * rollout-model: what a version bump costs end to end, measured with the real
 * program on the real node, and a model that predicts it for other replica
 * counts and surge settings.
 *
 * Measured: `pulumi up` of a version bump of a stack of this program (the
 * built bin/, real Pulumi CLI, Kubernetes and Command providers), 2 replicas,
 * maxSurge 1, maxUnavailable 0, the model of each size in BENCH_ROLLOUT_SIZES,
 * each bump a new version (the archive step really archives it; the
 * stack uses the program's defaults for the rest: a directory per version, one
 * version per pod). The timeline comes from a watch of the stack's part of the
 * store (the archive step's staging directory appearing, then the new version's
 * directory or `.mar`) and of the pods (created, Ready):
 *   up start → archive step starts → archive published → first new pod created
 *   → last new pod Ready → up ends.
 * overhead = up − archive step − rollout (first new pod created → last Ready).
 *
 * Model: up ≈ overhead + archive step + batches × per-pod created-to-Ready,
 * batches = ceil(replicas / surge) with maxUnavailable 0 (surge = maxSurge,
 * a percentage rounded up as Kubernetes does), each node loading one pod at a
 * time. Checked against the measured 2-replica bumps, then used for 2 and 10
 * replicas with maxSurge 1 and 25%.
 *
 * This node has 2 CPUs: with the default cpuRequest 1 the surge pod could not
 * be scheduled next to two replicas, so the stack requests 500m (the limit
 * stays 1 CPU, as by default).
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { createInterface } from "node:readline";
import { testEnv } from "../test/e2e/support/environment";
import { PulumiProject } from "../test/e2e/support/project";
import { runOk } from "../test/e2e/support/run";
import { BenchStore } from "./support/cases";
import { loadAverage } from "./support/host";
import { HANDLER, ModelSize, formatBytes } from "./support/models";
import { median, row } from "./measure";

/** One namespace per size: the stack retains its namespace and claim on destroy (as users' stacks do). */
const namespaceOf = (size: ModelSize) => `tsbench-rollout-${size.key}`;

interface PodTimes {
    version: string;
    createdAt: number;
    readyAt?: number;
}

/** One measured bump. */
export interface BumpSample {
    readonly load: number;
    readonly up: number;
    readonly beforeArchive: number;
    readonly archive: number;
    readonly archiveToFirstPod: number;
    readonly rollout: number;
    readonly afterReady: number;
    readonly podCreatedToReady: number[];
    readonly overhead: number;
}

/** Pods of the stack as they appear and become Ready (a `kubectl get --watch`). */
class PodWatch {
    readonly pods = new Map<string, PodTimes>();
    private child?: ChildProcess;

    constructor(
        private readonly env: NodeJS.ProcessEnv,
        private readonly namespace: string,
    ) {}

    start(): void {
        const template =
            '{.metadata.name}|{.metadata.labels.app\\.kubernetes\\.io/version}|{.status.conditions[?(@.type=="Ready")].status}{"\\n"}';
        const child = spawn("kubectl", ["get", "pods", "-n", this.namespace, "--watch", "-o", `jsonpath=${template}`], {
            env: this.env,
            stdio: ["ignore", "pipe", "ignore"],
        });
        this.child = child;
        createInterface({ input: child.stdout! }).on("line", (line) => {
            const now = performance.now();
            const [name, version, ready] = line.split("|");
            if (!name) return;
            const pod = this.pods.get(name) ?? { version, createdAt: now };
            if (ready === "True") pod.readyAt ??= now;
            this.pods.set(name, pod);
        });
    }

    stop(): void {
        this.child?.kill();
    }
}

/** The archive step's start (its staging directory appears) and end (the version's entry appears), by inotify. */
function watchStore(store: string, model: string, version: string): { stop: () => { start?: number; end?: number } } {
    const entries = [`${model}.${version}.mar`, `${model}.${version}`];
    let start: number | undefined;
    let end: number | undefined;
    const watcher = fs.watch(store, (_event, name) => {
        const now = performance.now();
        if (!name) return;
        if (start === undefined && name.startsWith(`.staging-${model}.${version}-`)) {
            start = now;
        }
        if (end === undefined && entries.includes(name) && fs.existsSync(path.join(store, name))) {
            end = now;
        }
    });
    return {
        stop: () => {
            watcher.close();
            return { start, end };
        },
    };
}

export async function measureRollouts(
    bench: BenchStore,
    kubeconfig: string,
    sizes: readonly ModelSize[],
    runs: number,
    log: (line: string) => void,
): Promise<Map<string, BumpSample[]>> {
    const venvBin = path.dirname(bench.archiveSpec(sizes[0], "zip-store", "v1").archiver);
    const env = testEnv(kubeconfig, venvBin);
    const project = new PulumiProject(env);
    const results = new Map<string, BumpSample[]>();
    for (const size of sizes) {
        const stack = `rollout-${size.key}`;
        const store = path.join(bench.work, `rollout-store-${size.key}`);
        fs.mkdirSync(store, { recursive: true });
        fs.chmodSync(store, 0o755);
        const config = (bump: number) => {
            const files = bench.files(size, `v${(bump % 3) + 1}`);
            return {
                namespace: namespaceOf(size),
                createNamespace: true,
                modelName: "demo",
                modelVersion: `b${bump}`,
                serializedFile: files.serializedFile,
                handler: HANDLER,
                extraFiles: [files.labels],
                archiverCommand: path.join(venvBin, "torch-model-archiver"),
                modelStorePath: store,
                modelStoreHostPath: store,
                modelStoreProtect: false,
                replicas: 2,
                maxSurge: 1,
                maxUnavailable: 0,
                cpuRequest: "500m",
                rolloutTimeoutMinutes: 20,
                startupTimeoutSeconds: 900,
            };
        };
        await project.initStack(stack, config(0));
        const watch = new PodWatch(env, namespaceOf(size));
        watch.start();
        const samples: BumpSample[] = [];
        try {
            // Two bumps first, so every measured bump finds a store in steady state (archiveKeep = 3 versions kept).
            for (let bump = 0; bump < 3; bump++) {
                await project.setConfig(stack, config(bump));
                await runOk("pulumi", ["up", "--stack", stack, "--yes", "--skip-preview", "--non-interactive"], {
                    cwd: project.dir,
                    env,
                });
                log(`rollout ${size.label}: set-up bump b${bump} done`);
            }
            for (let bump = 3; bump < 3 + runs; bump++) {
                await project.setConfig(stack, config(bump));
                const version = `b${bump}`;
                const load = loadAverage();
                // The stack's part of the store (modelStoreSubdir's default), made by the first up.
                const store$ = watchStore(path.join(store, namespaceOf(size), "torchserve"), "demo", version);
                const start = performance.now();
                await runOk("pulumi", ["up", "--stack", stack, "--yes", "--skip-preview", "--non-interactive"], {
                    cwd: project.dir,
                    env,
                });
                const end = performance.now();
                const archive = store$.stop();
                const pods = [...watch.pods.values()].filter((p) => p.version === version);
                const first = Math.min(...pods.map((p) => p.createdAt));
                const last = Math.max(...pods.map((p) => p.readyAt ?? NaN));
                const archiveSeconds = ((archive.end ?? start) - (archive.start ?? start)) / 1000;
                const sample: BumpSample = {
                    load,
                    up: (end - start) / 1000,
                    beforeArchive: ((archive.start ?? start) - start) / 1000,
                    archive: archiveSeconds,
                    archiveToFirstPod: (first - (archive.end ?? start)) / 1000,
                    rollout: (last - first) / 1000,
                    afterReady: (end - last) / 1000,
                    podCreatedToReady: pods.map((p) => ((p.readyAt ?? NaN) - p.createdAt) / 1000),
                    overhead: (end - start) / 1000 - archiveSeconds - (last - first) / 1000,
                };
                samples.push(sample);
                log(
                    `rollout ${size.label} ${version}: up ${sample.up.toFixed(1)} s = before ${sample.beforeArchive.toFixed(1)} ` +
                        `+ archive ${sample.archive.toFixed(1)} + to first pod ${sample.archiveToFirstPod.toFixed(1)} ` +
                        `+ rollout ${sample.rollout.toFixed(1)} (pods ${sample.podCreatedToReady.map((x) => x.toFixed(1)).join(", ")}) ` +
                        `+ after ${sample.afterReady.toFixed(1)} (load ${load.toFixed(2)})`,
                );
            }
        } finally {
            watch.stop();
            await project.destroy(stack);
            // The claim and the namespace are retained on destroy; the namespace takes the claim with it,
            // then the volume can go (while its claim exists, deleting it waits forever).
            const ns = namespaceOf(size);
            await runOk("kubectl", ["delete", "namespace", ns, "--ignore-not-found", "--timeout=180s"], { env }).catch(
                () => undefined,
            );
            await runOk(
                "kubectl",
                ["delete", "persistentvolume", `${ns}-torchserve-model-store`, "--ignore-not-found"],
                {
                    env,
                    timeoutMs: 120_000,
                },
            ).catch(() => undefined);
            fs.rmSync(store, { recursive: true, force: true });
        }
        results.set(size.key, samples);
    }
    return results;
}

/** Pods created at once under maxUnavailable 0: maxSurge as a count, or a percentage of replicas rounded up. */
export function surgeCount(maxSurge: number | string, replicas: number): number {
    return typeof maxSurge === "string" && maxSurge.endsWith("%")
        ? Math.max(1, Math.ceil((replicas * Number(maxSurge.slice(0, -1))) / 100))
        : Number(maxSurge);
}

/** Predicted `pulumi up` of a version bump. */
export function predictUp(
    overhead: number,
    archive: number,
    podSeconds: number,
    replicas: number,
    maxSurge: number | string,
): number {
    return overhead + archive + Math.ceil(replicas / surgeCount(maxSurge, replicas)) * podSeconds;
}

/** The measured bumps' table. */
export function rolloutTables(sizes: readonly ModelSize[], results: Map<string, BumpSample[]>): string[] {
    const lines = [
        "**`pulumi up` of a version bump on the real node** (the program's defaults: a directory per version, " +
            "one version per pod; 2 replicas, maxSurge 1, maxUnavailable 0; medians):",
        "",
        "| model | `pulumi up` s | before the archive step s | archive step s | to first new pod s | rollout (first new pod → last Ready) s | after last Ready s | overhead s | per pod created → Ready s | predicted s (overhead + archive + 2 × pod) | load avg |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ];
    for (const size of sizes) {
        const s = results.get(size.key) ?? [];
        if (s.length === 0) continue;
        const m = (f: (x: BumpSample) => number) => median(s.map(f));
        const pod = median(s.flatMap((x) => x.podCreatedToReady));
        lines.push(
            row([
                size.label,
                m((x) => x.up),
                m((x) => x.beforeArchive),
                m((x) => x.archive),
                m((x) => x.archiveToFirstPod),
                m((x) => x.rollout),
                m((x) => x.afterReady),
                m((x) => x.overhead),
                pod,
                predictUp(
                    m((x) => x.overhead),
                    m((x) => x.archive),
                    pod,
                    2,
                    1,
                ),
                `${Math.min(...s.map((x) => x.load)).toFixed(1)}-${Math.max(...s.map((x) => x.load)).toFixed(1)}`,
            ]),
        );
    }
    lines.push("");
    return lines;
}

/** Predictions for 2 and 10 replicas, maxSurge 1 and 25%, from per-pod times and archive times. */
export function predictionTable(
    overhead: number,
    rows: readonly { label: string; archive: number; pod: number }[],
): string[] {
    const settings: [number, number | string][] = [
        [2, 1],
        [2, "25%"],
        [10, 1],
        [10, "25%"],
    ];
    return [
        `Predicted \`pulumi up\` of a version bump: overhead ${overhead.toFixed(1)} s + archive step + ` +
            "ceil(replicas / surge) × per-pod created-to-Ready (maxUnavailable 0; one pod per node loading at a time):",
        "",
        `| case | archive s | per pod s | ${settings.map(([r, s]) => `${r} replicas, maxSurge ${s} (${Math.ceil(r / surgeCount(s, r))} batches)`).join(" | ")} |`,
        `| --- | --- | --- | ${settings.map(() => "---").join(" | ")} |`,
        ...rows.map((r) =>
            row([
                r.label,
                r.archive,
                r.pod,
                ...settings.map(([n, s]) => formatSeconds(predictUp(overhead, r.archive, r.pod, n, s))),
            ]),
        ),
        "",
    ];
}

function formatSeconds(s: number): string {
    return s >= 120 ? `${s.toFixed(0)} s (${(s / 60).toFixed(1)} min)` : `${s.toFixed(1)} s`;
}

export { formatBytes };
