/**
 * The pod target: real pods on this machine's real node (scripts/cluster.sh
 * up tsbench --real-node: kubelet + containerd + runc, the locally built
 * pytorch/torchserve:0.12.0-cpu image), each one a pod of the program's own
 * spec (`buildPodSpec`: command, probes, limits, security context, read-only
 * mounts) with the rendered config in a ConfigMap and the bench store bound
 * through the program's hostPath volume and claim builders.
 *
 * Measured per run, from this host: pod created (the watch's first event) to
 * Ready (the watch event: the kubelet's startup and readiness probes passed);
 * container start (the container's first process start time from /proc) to
 * every worker READY (management API at the pod IP, polled every 100 ms) and
 * to Ready; the pod's memory cgroup (kubepods/<qos>/pod<uid>: usage,
 * max_usage, failcnt, memory.stat) after every version answered once; bytes
 * in the container's temp dir, its writable layer and its log files.
 *
 * The real node is one per machine: when another cluster holds it,
 * acquireRealNode() waits (polling every 30 s) and never stops anyone else's
 * cluster; releaseRealNode() stops the bench's own cluster.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createInterface } from "node:readline";
import { Settings } from "../../components/config";
import {
    buildModelStoreClaim,
    buildModelStoreVolume,
    buildPodSpec,
    objectNames,
    podLabels,
} from "../../components/kubernetes";
import { CONFIG_FILE_NAME, CONTAINER_MODEL_STORE } from "../../components/torchserve";
import { REPO, toolPath } from "../../test/e2e/support/environment";
import { BenchStore, ServeCase } from "./cases";
import { renderFormatConfig, renderNoModelConfig } from "./formats";
import { MemoryStats, duBytes, evictPageCache, loadAverage, processStartPerf, readCpu, readMemory } from "./host";
import {
    FLOOR_LOAD_SCRIPT,
    FloorSample,
    PRINT_AGE,
    ServeSample,
    ServeTarget,
    allReady,
    checkAnswers,
    parseBreakdown,
    pollUntil,
    workerDeaths,
} from "./target";

export const BENCH_CLUSTER = process.env.BENCH_CLUSTER ?? "tsbench";
const NAMESPACE = "tsbench";
const CACHE = process.env.TS_STACK_CACHE ?? path.join(os.homedir(), ".cache", "torchserve-stack");
const KUBEPODS = "/sys/fs/cgroup/memory/torchserve-stack-node/kubepods";
const TIMEOUT_SECONDS = 900;

/** A pod as the watch last saw it, and when things were first seen. */
interface PodState {
    uid?: string;
    phase?: string;
    ip?: string;
    ready?: boolean;
    containerId?: string;
    restarts: number;
    addedAt?: number;
    readyAt?: number;
}

const WATCH_TEMPLATE =
    '{.metadata.name}|{.metadata.uid}|{.status.phase}|{.status.podIP}|{.status.conditions[?(@.type=="Ready")].status}|' +
    '{.status.containerStatuses[0].containerID}|{.status.containerStatuses[0].restartCount}{"\\n"}';

/** Acquires the real node (waiting while another cluster holds it); returns the kubeconfig. */
export async function acquireRealNode(log: (line: string) => void): Promise<{ kubeconfig: string; started: boolean }> {
    const given = process.env.BENCH_KUBECONFIG;
    if (given) {
        return { kubeconfig: given, started: false };
    }
    const env = { ...process.env, PATH: toolPath() };
    const script = path.join(REPO, "scripts", "cluster.sh");
    for (;;) {
        let owner: string;
        try {
            owner = execFileSync("bash", [path.join(REPO, "scripts", "node.sh"), "owner"], {
                encoding: "utf8",
                stdio: ["ignore", "pipe", "ignore"],
            }).trim();
        } catch {
            owner = "";
        }
        if (owner === "" || owner === BENCH_CLUSTER) {
            try {
                const out = execFileSync("bash", [script, "up", BENCH_CLUSTER, "--real-node"], {
                    encoding: "utf8",
                    env,
                    stdio: ["ignore", "pipe", "inherit"],
                });
                return { kubeconfig: out.trim().split("\n").pop()!, started: true };
            } catch (error) {
                log(`cluster.sh up ${BENCH_CLUSTER} --real-node failed (${(error as Error).message.split("\n")[0]})`);
            }
        } else {
            log(`the real node is held by cluster '${owner}'; waiting 30 s`);
        }
        await new Promise((r) => setTimeout(r, 30_000));
    }
}

export function releaseRealNode(): void {
    execFileSync("bash", [path.join(REPO, "scripts", "cluster.sh"), "down", BENCH_CLUSTER], {
        env: { ...process.env, PATH: toolPath() },
        stdio: ["ignore", "ignore", "inherit"],
    });
}

export class PodTarget implements ServeTarget {
    readonly name = "pod" as const;
    private readonly pods = new Map<string, PodState>();
    private watch?: ChildProcess;
    private serial = 0;
    private readonly env: NodeJS.ProcessEnv;

    private constructor(
        private readonly bench: BenchStore,
        readonly kubeconfig: string,
    ) {
        this.env = { ...process.env, PATH: toolPath(), KUBECONFIG: kubeconfig };
    }

    /** On the cluster of `kubeconfig` (its real node); close() leaves the cluster running. */
    static async start(bench: BenchStore, kubeconfig: string): Promise<PodTarget> {
        const target = new PodTarget(bench, kubeconfig);
        try {
            await target.setUp();
        } catch (error) {
            await target.close();
            throw error;
        }
        return target;
    }

    kubectl(args: readonly string[], input?: string): string {
        return execFileSync("kubectl", ["--request-timeout=60s", ...args], {
            encoding: "utf8",
            env: this.env,
            input,
            stdio: ["pipe", "pipe", "pipe"],
        });
    }

    apply(objects: unknown[]): void {
        this.kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));
    }

    /** Namespace, the store's hostPath volume and claim (the program's builders), and the pod watch. */
    private async setUp(): Promise<void> {
        const settings = this.bench.settings({ model: "setup", count: 1 });
        const names = objectNames(settings);
        const volume = buildModelStoreVolume(settings)!;
        const claim = buildModelStoreClaim(settings, volume.name);
        this.apply([
            { apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACE } },
            { apiVersion: "v1", kind: "PersistentVolume", metadata: { name: volume.name }, spec: volume.spec },
            {
                apiVersion: "v1",
                kind: "PersistentVolumeClaim",
                metadata: { name: names.claim, namespace: NAMESPACE },
                spec: claim.spec,
            },
        ]);
        // The namespace's default ServiceAccount (pods need it) comes from the controller manager.
        for (let i = 0; i < 60; i++) {
            try {
                this.kubectl(["-n", NAMESPACE, "get", "serviceaccount", "default"]);
                break;
            } catch {
                await new Promise((r) => setTimeout(r, 1000));
            }
        }
        this.kubectl(["-n", NAMESPACE, "wait", "--for=jsonpath={.status.phase}=Bound", `pvc/${names.claim}`]);
        const watch = spawn(
            "kubectl",
            ["get", "pods", "-n", NAMESPACE, "--watch", "-o", `jsonpath=${WATCH_TEMPLATE}`],
            {
                env: this.env,
                stdio: ["ignore", "pipe", "inherit"],
            },
        );
        this.watch = watch;
        createInterface({ input: watch.stdout! }).on("line", (line) => {
            const now = performance.now();
            const [name, uid, phase, ip, ready, containerId, restarts] = line.split("|");
            const state = this.pods.get(name) ?? { restarts: 0 };
            state.addedAt ??= now;
            state.uid = uid || state.uid;
            state.phase = phase;
            state.ip = ip || state.ip;
            state.ready = ready === "True";
            if (state.ready) state.readyAt ??= now;
            state.containerId = containerId ? containerId.replace(/^containerd:\/\//, "") : state.containerId;
            state.restarts = Number(restarts) || 0;
            this.pods.set(name, state);
        });
    }

    private async waitFor(name: string, what: (s: PodState) => boolean, seconds: number): Promise<PodState> {
        const deadline = performance.now() + seconds * 1000;
        while (performance.now() < deadline) {
            const s = this.pods.get(name);
            if (s && what(s)) {
                return s;
            }
            await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error(`pod ${name}: timed out (${JSON.stringify(this.pods.get(name))})`);
    }

    /** The first process of the pod's (only) container, once it runs: pid and start time. */
    private async containerProcess(name: string): Promise<{ pid: number; startedAt: number; cgroup: string }> {
        const deadline = performance.now() + 120_000;
        while (performance.now() < deadline) {
            const s = this.pods.get(name);
            const pod = s?.uid ? podCgroup(s.uid) : undefined;
            if (pod && s?.containerId) {
                const procs = path.join(pod, s.containerId, "cgroup.procs");
                const pids = fs.existsSync(procs)
                    ? fs.readFileSync(procs, "utf8").trim().split("\n").filter(Boolean).map(Number)
                    : [];
                if (pids.length > 0) {
                    const starts = pids.map((pid) => ({ pid, startedAt: processStartPerf(pid) }));
                    starts.sort((a, b) => a.startedAt - b.startedAt);
                    return { ...starts[0], cgroup: pod };
                }
            }
            await new Promise((r) => setTimeout(r, 20));
        }
        throw new Error(`pod ${name}: no container process`);
    }

    private settingsFor(c: { model: string; count: number }): Settings {
        return this.bench.settings(c);
    }

    private configMap(name: string, text: string): unknown {
        return {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name, namespace: NAMESPACE },
            data: { [CONFIG_FILE_NAME]: text },
        };
    }

    private podObject(name: string, settings: Settings, served: readonly string[], configMap: string): any {
        const version = served[0];
        return {
            apiVersion: "v1",
            kind: "Pod",
            metadata: {
                name,
                namespace: NAMESPACE,
                labels: { ...podLabels(settings.appName, version), "tsbench/case": settings.model.name },
            },
            spec: buildPodSpec({
                settings,
                version,
                served,
                storeSubdir: "",
                config: { kind: "ConfigMap", name: configMap },
                claimName: objectNames(settings).claim,
            }),
        };
    }

    /** Creates the pod; resolves when the watch saw it (its creation time). */
    private async create(pod: any): Promise<number> {
        this.kubectl(["create", "-f", "-"], JSON.stringify(pod));
        return (await this.waitFor(pod.metadata.name, (s) => s.addedAt !== undefined, 30)).addedAt!;
    }

    /** Deletes a pod and waits until it and its cgroup are gone. */
    private async remove(name: string): Promise<void> {
        const uid = this.pods.get(name)?.uid;
        this.kubectl(["-n", NAMESPACE, "delete", "pod", name, "--grace-period=1", "--wait=true", "--timeout=120s"]);
        for (let i = 0; i < 600 && uid && podCgroup(uid); i++) {
            await new Promise((r) => setTimeout(r, 100));
        }
        this.pods.delete(name);
    }

    private logs(name: string, previous = false): string {
        try {
            return this.kubectl(["-n", NAMESPACE, "logs", name, ...(previous ? ["--previous"] : [])]);
        } catch {
            return "";
        }
    }

    async serve(c: ServeCase): Promise<ServeSample> {
        const settings = this.settingsFor(c);
        const configName = `cfg-${c.model}-x${c.count}`;
        this.apply([
            this.configMap(
                configName,
                renderFormatConfig(c.format, { modelName: c.model, versions: c.versions, server: settings.server }),
            ),
        ]);
        const name = `${c.model}-x${c.count}-${++this.serial}`;
        evictPageCache(c.files);
        const load = loadAverage();
        const createdAt = await this.create(this.podObject(name, settings, c.versions, configName));
        try {
            const container = await this.containerProcess(name);
            const ip = (await this.waitFor(name, (s) => !!s.ip, 60)).ip!;
            const deadline = container.startedAt + TIMEOUT_SECONDS * 1000;
            const p = settings.server.ports;
            const pingAt = pollUntil(`http://${ip}:${p.inference}/ping`, (s) => s === 200, deadline, 100);
            const modelsAt = await pollUntil(
                `http://${ip}:${p.management}/models/${c.model}/all`,
                (s, body) => s === 200 && allReady(body, c.count),
                deadline,
                100,
            );
            const cpu = readCpu(container.cgroup);
            const readyAt = (await this.waitFor(name, (s) => s.readyAt !== undefined, TIMEOUT_SECONDS)).readyAt!;
            const answersOk = await checkAnswers(`http://${ip}:${p.inference}`, c);
            const state = this.pods.get(name)!;
            const memory = readMemory(container.cgroup);
            const log = this.logs(name);
            const root = `/proc/${container.pid}/root`;
            const sample: ServeSample = {
                load,
                startToModels: (modelsAt - container.startedAt) / 1000,
                startToPing: ((await pingAt) - container.startedAt) / 1000,
                startToReady: (readyAt - container.startedAt) / 1000,
                createToReady: (readyAt - createdAt) / 1000,
                memory,
                tmpBytes: duBytes(`${root}/home/model-server/tmp`),
                writableBytes: duBytes(upperDir(container.pid) ?? "/nonexistent"),
                logBytes: duBytes(path.join(CACHE, "node", "pod-logs", `${NAMESPACE}_${name}_${state.uid}`)),
                restarts: state.restarts,
                workerDeaths: workerDeaths(log + (state.restarts > 0 ? this.logs(name, true) : "")),
                answersOk,
                breakdown: parseBreakdown(log),
                cpu,
            };
            return sample;
        } finally {
            await this.remove(name);
        }
    }

    /** A pod of the program's spec running something else once (no probes, restartPolicy Never). */
    private floorPod(name: string, settings: Settings, command: string[], configMap: string): any {
        const pod = this.podObject(name, settings, ["floor"], configMap);
        const container = pod.spec.containers[0];
        container.command = command;
        container.args = [];
        delete container.startupProbe;
        delete container.readinessProbe;
        delete container.livenessProbe;
        delete container.lifecycle;
        pod.spec.restartPolicy = "Never";
        return pod;
    }

    async floorLoad(storeFile: string): Promise<FloorSample> {
        const settings = this.settingsFor({ model: "floor", count: 1 });
        const configName = "cfg-floor";
        this.apply([
            this.configMap(
                configName,
                renderNoModelConfig({ modelName: "floor", versions: ["v1"], server: settings.server }),
            ),
        ]);
        const name = `floor-load-${++this.serial}`;
        const script = `${FLOOR_LOAD_SCRIPT}\n${PRINT_AGE}`;
        const inPod = path.posix.join(CONTAINER_MODEL_STORE, path.relative(this.bench.store, storeFile));
        evictPageCache([storeFile]);
        const load = loadAverage();
        await this.create(this.floorPod(name, settings, ["python", "-c", script, inPod], configName));
        try {
            const s = await this.waitFor(name, (x) => x.phase === "Succeeded" || x.phase === "Failed", TIMEOUT_SECONDS);
            const memory = podMemory(s.uid!);
            const cpu = readCpu(podCgroup(s.uid!)!);
            if (s.phase !== "Succeeded") {
                throw new Error(`floor pod ${name} failed: ${this.logs(name)}`);
            }
            const age = JSON.parse(this.logs(name).trim().split("\n").pop()!).age as number;
            return { load, seconds: age, memory, cpu };
        } finally {
            await this.remove(name);
        }
    }

    async floorFrontend(): Promise<FloorSample> {
        const settings = this.settingsFor({ model: "floor", count: 1 });
        const configName = "cfg-floor";
        this.apply([
            this.configMap(
                configName,
                renderNoModelConfig({ modelName: "floor", versions: ["v1"], server: settings.server }),
            ),
        ]);
        const name = `floor-frontend-${++this.serial}`;
        const load = loadAverage();
        const pod = this.podObject(name, settings, ["floor"], configName);
        await this.create(pod);
        try {
            const container = await this.containerProcess(name);
            const ip = (await this.waitFor(name, (s) => !!s.ip, 60)).ip!;
            const at = await pollUntil(
                `http://${ip}:${settings.server.ports.inference}/ping`,
                (s) => s === 200,
                container.startedAt + 120_000,
                50,
            );
            return {
                load,
                seconds: (at - container.startedAt) / 1000,
                memory: readMemory(container.cgroup),
                cpu: readCpu(container.cgroup),
            };
        } finally {
            await this.remove(name);
        }
    }

    async close(): Promise<void> {
        this.watch?.kill();
        try {
            this.kubectl(["delete", "namespace", NAMESPACE, "--wait=true", "--timeout=180s"]);
            this.kubectl(["delete", "persistentvolume", `${NAMESPACE}-torchserve-model-store`, "--ignore-not-found"]);
        } catch {
            // the cluster goes away anyway when the bench started it
        }
    }
}

/** The pod's memory cgroup directory (any QoS class), or undefined once it is gone. */
export function podCgroup(uid: string): string | undefined {
    for (const qos of ["burstable", "besteffort", ""]) {
        const dir = path.join(KUBEPODS, qos, `pod${uid}`);
        if (fs.existsSync(dir)) {
            return dir;
        }
    }
    return undefined;
}

function podMemory(uid: string): MemoryStats {
    const dir = podCgroup(uid);
    if (!dir) {
        throw new Error(`no memory cgroup for pod ${uid}`);
    }
    return readMemory(dir);
}

/** The overlay upperdir (the container's writable layer) of a process's root mount. */
function upperDir(pid: number): string | undefined {
    const lines = fs.readFileSync(`/proc/${pid}/mountinfo`, "utf8").split("\n");
    const root = lines.find((l) => l.split(" ")[4] === "/" && l.includes(" - overlay "));
    return root ? /upperdir=([^,\s]+)/.exec(root)?.[1] : undefined;
}
