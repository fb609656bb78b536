/**
 * The loopback target: the serve suite's pod emulation (test/serve/support:
 * the container's command and args from `buildPodSpec`, the rendered
 * config.properties and the store at the pod's paths, real TorchServe 0.12 on
 * free loopback ports), run inside a local cgroup with the pod's memory and
 * CPU limits so memory is counted as in a pod. Before each run the loaded
 * files are evicted from the page cache (a node that has not read them yet).
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildPodSpec } from "../../components/kubernetes";
import { CONFIG_FILE_NAME, CONTAINER_CONFIG_DIR, CONTAINER_MODEL_STORE } from "../../components/torchserve";
import { TorchServeProcess, loopbackPortArgs } from "../../test/serve/support/server";
import { BenchStore, ServeCase, quantity } from "./cases";
import { renderFormatConfig, renderNoModelConfig } from "./formats";
import { LocalCgroup, duBytes, evictPageCache, killOnInterrupt, loadAverage } from "./host";
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

const TIMEOUT_SECONDS = 900;
let serial = 0;

export class LoopbackTarget implements ServeTarget {
    readonly name = "loopback" as const;

    constructor(
        private readonly venv: string,
        private readonly bench: BenchStore,
    ) {}

    private async settings(c: { model: string; count: number }) {
        return this.bench.settings(c, await loopbackPortArgs());
    }

    private cgroup(settings: { server: { memoryLimit: string; cpuLimit: string } }): LocalCgroup {
        return new LocalCgroup(
            `tsbench-${process.pid}-${++serial}`,
            quantity(settings.server.memoryLimit),
            quantity(settings.server.cpuLimit),
        );
    }

    /** Starts TorchServe as the pod would, with `configText`, in `cgroup`. */
    private start(settings: ReturnType<BenchStore["settings"]>, configText: string, cgroup: LocalCgroup) {
        const { server, workdir } = startLikePod(this.venv, this.bench.store, settings, ["bench"], configText, "pod");
        const pid = (server as unknown as { child: ChildProcess }).child.pid!;
        cgroup.add(pid);
        // Detached: the launcher leads its own process group (Java and the workers join it).
        const forget = killOnInterrupt(pid);
        const stop = async () => {
            await server.stop();
            forget();
        };
        return { server, workdir, stop };
    }

    async serve(c: ServeCase): Promise<ServeSample> {
        const settings = await this.settings(c);
        const configText = renderFormatConfig(c.format, {
            modelName: c.model,
            versions: c.versions,
            server: settings.server,
            bindAddress: "127.0.0.1",
        });
        evictPageCache(c.files);
        const load = loadAverage();
        const cgroup = this.cgroup(settings);
        const { server, workdir, stop } = this.start(settings, configText, cgroup);
        const p = settings.server.ports;
        const inference = `http://127.0.0.1:${p.inference}`;
        try {
            const deadline = server.startedAt + TIMEOUT_SECONDS * 1000;
            const alive = () => server.running;
            const pingAt = pollUntil(`${inference}/ping`, (s) => s === 200, deadline, 100, alive);
            const modelsAt = await pollUntil(
                `http://127.0.0.1:${p.management}/models/${c.model}/all`,
                (s, body) => s === 200 && allReady(body, c.count),
                deadline,
                100,
                alive,
            );
            const cpu = cgroup.cpuStats();
            const answersOk = await checkAnswers(inference, c);
            const memory = cgroup.stats();
            const log = fullLog(workdir);
            return {
                load,
                startToModels: (modelsAt - server.startedAt) / 1000,
                startToPing: ((await pingAt) - server.startedAt) / 1000,
                memory,
                tmpBytes: duBytes(path.join(workdir, "tmp")),
                restarts: 0,
                workerDeaths: workerDeaths(log),
                answersOk,
                breakdown: parseBreakdown(log),
                cpu,
            };
        } finally {
            await stop();
            await cgroup.remove();
            fs.rmSync(workdir, { recursive: true, force: true });
        }
    }

    async floorLoad(storeFile: string): Promise<FloorSample> {
        evictPageCache([storeFile]);
        const load = loadAverage();
        const cgroup = this.cgroup(this.bench.settings({ model: "floor", count: 1 }));
        try {
            const script = `${FLOOR_LOAD_SCRIPT}\n${PRINT_AGE}`;
            const child = spawn(path.join(this.venv, "bin", "python"), ["-c", script, storeFile], {
                stdio: ["ignore", "pipe", "inherit"],
            });
            cgroup.add(child.pid!);
            let out = "";
            child.stdout!.on("data", (chunk) => (out += chunk));
            const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? -1)));
            if (code !== 0) {
                throw new Error(`the bare load exited ${code}`);
            }
            const age = JSON.parse(out.trim().split("\n").pop()!).age as number;
            return { load, seconds: age, memory: cgroup.stats(), cpu: cgroup.cpuStats() };
        } finally {
            await cgroup.remove();
        }
    }

    async floorFrontend(): Promise<FloorSample> {
        const settings = await this.settings({ model: "floor", count: 1 });
        const configText = renderNoModelConfig({
            modelName: "floor",
            versions: ["v1"],
            server: settings.server,
            bindAddress: "127.0.0.1",
        });
        const load = loadAverage();
        const cgroup = this.cgroup(settings);
        const { server, workdir, stop } = this.start(settings, configText, cgroup);
        try {
            const at = await pollUntil(
                `http://127.0.0.1:${settings.server.ports.inference}/ping`,
                (s) => s === 200,
                server.startedAt + 120_000,
                50,
                () => server.running,
            );
            return {
                load,
                seconds: (at - server.startedAt) / 1000,
                memory: cgroup.stats(),
                cpu: cgroup.cpuStats(),
            };
        } finally {
            await stop();
            await cgroup.remove();
            fs.rmSync(workdir, { recursive: true, force: true });
        }
    }

    async close(): Promise<void> {}
}

/** The server's stdout (TorchServe logs every line there too). */
function fullLog(workdir: string): string {
    const file = path.join(workdir, "torchserve.out");
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
}

/**
 * Starts TorchServe on loopback with the pod's own command line (the program's pod spec for `settings`
 * and `served`), `configText` as its mounted config.properties and `store` as its model store.
 */
export function startLikePod(
    venv: string,
    store: string,
    settings: ReturnType<BenchStore["settings"]>,
    served: readonly string[],
    configText: string,
    label: string,
): { server: TorchServeProcess; container: any; workdir: string } {
    const container = (
        buildPodSpec({
            settings,
            version: served[0],
            served,
            storeSubdir: "",
            config: { kind: "ConfigMap", name: "c" },
            claimName: "c",
        }) as any
    ).containers[0];
    const workdir = fs.mkdtempSync(path.join(os.tmpdir(), `tsbench-${label}-`));
    const server = new TorchServeProcess({
        command: [...container.command, ...container.args],
        files: { [`${CONTAINER_CONFIG_DIR}/${CONFIG_FILE_NAME}`]: configText },
        mounts: { [CONTAINER_CONFIG_DIR]: path.join(workdir, "config"), [CONTAINER_MODEL_STORE]: store },
        workdir,
        binDir: path.join(venv, "bin"),
    }).start();
    return { server, container, workdir };
}
