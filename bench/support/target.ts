/**
 * Where a serve case runs, and what is measured each time. Two targets:
 * `loopback` (the serve suite's pod emulation: the pod's command line and
 * rendered config run by the real TorchServe on loopback ports, inside a local
 * cgroup with the pod's memory and CPU limits) and `pod` (real pods on the
 * local real node, see pods.ts).
 */
import { CpuStats, MemoryStats } from "./host";
import { ServeCase } from "./cases";

export interface ServeSample {
    /** 1-minute load average when the run started. */
    readonly load: number;
    /** Server (container) process start until every loaded version's workers are READY (management API). */
    readonly startToModels: number;
    /** Process start until `/ping` first answers 200 (the frontend registered every model). */
    readonly startToPing: number;
    /** Pod only: container start until the pod is Ready (the kubelet's probes passed). */
    readonly startToReady?: number;
    /** Pod only: pod created until Ready. */
    readonly createToReady?: number;
    /** The pod's (or local cgroup's) memory after every version answered once. */
    readonly memory: MemoryStats;
    /** Bytes in the server's temp dir (TorchServe unpacks archives there). */
    readonly tmpBytes: number;
    /** Pod only: bytes in the container's writable layer and its log files (ephemeral storage). */
    readonly writableBytes?: number;
    readonly logBytes?: number;
    /** Pod only: container restarts. */
    readonly restarts: number;
    /** Worker processes that died (the log's "Backend worker process died"). */
    readonly workerDeaths: number;
    /** Every loaded version answered what its model answers. */
    readonly answersOk: boolean;
    /** Where the time went, from TorchServe's own log. */
    readonly breakdown: Breakdown;
    /** CPU used by the pod (or local cgroup) until every worker was READY, and time throttled by the CPU limit. */
    readonly cpu: CpuStats;
}

/**
 * Phases from TorchServe's log (its timestamps, ms): the frontend registers
 * the `load_models` entries one after another on its main thread (a `.mar` is
 * unpacked into the temp dir then), binds its ports, and starts one Python
 * worker per version (they start and load in parallel).
 */
export interface Breakdown {
    /** First log line of the JVM until the first model's registration starts (config, plugins). */
    readonly frontendInit: number;
    /** Sum over versions of "Loading initial models" to "Model … loaded." (unpacking a `.mar`). */
    readonly register: number;
    /** Slowest worker: process spawned until "Torch worker started" (Python, torch and ts imports). */
    readonly workerStart: number;
    /** Slowest worker: "Torch worker started" until WORKER_MODEL_LOADED (the handler's initialize: the model load). */
    readonly workerLoad: number;
}

const LOG_LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d),(\d{3}) \[\w+ *\] (\S+) (.*)$/;

export function parseBreakdown(log: string): Breakdown {
    let first: number | undefined;
    let firstRegister: number | undefined;
    let registerStart: number | undefined;
    let register = 0;
    const spawned = new Map<string, number>();
    const started = new Map<string, number>();
    const loaded = new Map<string, number>();
    for (const line of log.split("\n")) {
        const m = LOG_LINE.exec(line);
        if (!m) continue;
        const t = Date.parse(`${m[1]}.${m[2]}Z`) / 1000;
        const [thread, text] = [m[3], m[4]];
        first ??= t;
        if (text.includes("Loading initial models: ")) {
            firstRegister ??= t;
            registerStart = t;
        } else if (/ModelManager - Model \S+ loaded\./.test(text) && registerStart !== undefined) {
            register += t - registerStart;
            registerStart = undefined;
        } else if (text.includes("Worker cmdline:")) {
            spawned.set(thread, t);
        } else if (text.includes("Torch worker started.")) {
            started.set(thread.replace(/-stdout$/, ""), t);
        } else if (text.includes("State change WORKER_STARTED -> WORKER_MODEL_LOADED")) {
            loaded.set(thread, t);
        }
    }
    const workers = [...loaded.keys()];
    const max = (xs: number[]) => (xs.length ? Math.max(...xs) : NaN);
    return {
        frontendInit: firstRegister !== undefined && first !== undefined ? firstRegister - first : NaN,
        register,
        workerStart: max(workers.map((w) => (started.get(w) ?? NaN) - (spawned.get(w) ?? NaN))),
        workerLoad: max(workers.map((w) => loaded.get(w)! - (started.get(w) ?? NaN))),
    };
}

export interface FloorSample {
    readonly load: number;
    /** Seconds: process start until done (loaded, or `/ping` 200). */
    readonly seconds: number;
    readonly memory: MemoryStats;
    /** CPU used until done (the bare load: until the process exited). */
    readonly cpu: CpuStats;
}

export interface ServeTarget {
    readonly name: "loopback" | "pod";
    /** Starts the case's server once and measures it. */
    serve(c: ServeCase): Promise<ServeSample>;
    /** The handler's own load of the same weights (`torch.jit.load`) in a bare Python process. */
    floorLoad(storeFile: string): Promise<FloorSample>;
    /** TorchServe's frontend start with no model (the pod's command line and config without models). */
    floorFrontend(): Promise<FloorSample>;
    close(): Promise<void>;
}

/** The bare load: what BaseHandler does for a TorchScript model (torch.jit.load on CPU, then eval). */
export const FLOOR_LOAD_SCRIPT = [
    "import sys, torch",
    "m = torch.jit.load(sys.argv[1], map_location='cpu')",
    "m.eval()",
    // One answer, so the load is not lazily skipped and matches what a worker can answer.
    "print(m(torch.tensor([[1.0, 2.0, 3.0, 4.0]]))[0].tolist())",
].join("\n");

/**
 * Printed after FLOOR_LOAD_SCRIPT: the process's age (its start to now, in
 * seconds, 10 ms resolution) as a JSON last line, measured inside the process
 * (so a pod's floor is timed from its container's start).
 */
export const PRINT_AGE = [
    "import json, os, time",
    "fields = open('/proc/self/stat').read().rsplit(')', 1)[1].split()",
    "age = time.clock_gettime(time.CLOCK_BOOTTIME) - int(fields[19]) / os.sysconf('SC_CLK_TCK')",
    "print(json.dumps({'age': age}))",
].join("\n");

/** Counts worker deaths in TorchServe's log text. */
export function workerDeaths(log: string): number {
    return (log.match(/Backend worker process died/g) ?? []).length;
}

/** From `GET /models/<name>/all`: true when all `count` versions have all their workers READY. */
export function allReady(body: unknown, count: number): boolean {
    if (!Array.isArray(body) || body.length < count) {
        return false;
    }
    return body.every(
        (m: { minWorkers: number; workers: { status: string }[] }) =>
            m.workers.length >= m.minWorkers && m.workers.every((w) => w.status === "READY"),
    );
}

/** Polls `url` every `intervalMs` until `accept(status, JSON body)`; resolves with performance.now() then. */
export async function pollUntil(
    url: string,
    accept: (status: number, body: unknown) => boolean,
    deadline: number,
    intervalMs: number,
    alive: () => boolean = () => true,
): Promise<number> {
    while (performance.now() < deadline) {
        if (!alive()) {
            throw new Error(`server gone while waiting for ${url}`);
        }
        try {
            const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
            const text = await response.text();
            let body: unknown = text;
            try {
                body = JSON.parse(text);
            } catch {
                // not JSON
            }
            if (accept(response.status, body)) {
                return performance.now();
            }
        } catch {
            // not listening yet
        }
        await new Promise((r) => setTimeout(r, intervalMs));
    }
    throw new Error(`timed out waiting for ${url}`);
}

/** Asks each loaded version for [1, 2, 3, 4]; true when every answer is its model's. */
export async function checkAnswers(inferenceUrl: string, c: ServeCase): Promise<boolean> {
    const { sameAnswer } = await import("./models");
    for (const version of c.versions) {
        const response = await fetch(`${inferenceUrl}/predictions/${c.model}/${version}`, {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ data: [1, 2, 3, 4] }),
            signal: AbortSignal.timeout(60_000),
        });
        const body = (await response.json()) as { version?: string; output?: number[] };
        if (response.status !== 200 || body.version !== version || !sameAnswer(body.output ?? [], c.checks[version])) {
            return false;
        }
    }
    return true;
}
