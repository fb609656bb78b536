/**
 * What the benchmarks read from this machine: cgroup v1 memory counters (a
 * pod's as the kubelet made it, or a local one with the pod's limits for the
 * loopback emulation), page-cache eviction, process start times, load.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const CGROUP_ROOT = "/sys/fs/cgroup";

/**
 * Process groups and cgroups to clean up if the bench is interrupted (SIGINT,
 * SIGTERM): TorchServe's Java server outlives its launcher, so an interrupted
 * run would leave servers (and the cgroups holding them) behind.
 */
const groups = new Set<number>();
const cgroupDirs = new Set<string>();
let handlersInstalled = false;

function installHandlers(): void {
    if (handlersInstalled) return;
    handlersInstalled = true;
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
        process.once(signal, () => {
            for (const pgid of groups) {
                try {
                    process.kill(-pgid, "SIGKILL");
                } catch {
                    // gone
                }
            }
            spawnSync("sleep", ["1"]);
            for (const dir of cgroupDirs) {
                try {
                    fs.rmdirSync(dir);
                } catch {
                    // busy or gone
                }
            }
            process.exit(130);
        });
    }
}

/** Kills this process group if the bench is interrupted; returns the unregister function. */
export function killOnInterrupt(pgid: number): () => void {
    installHandlers();
    groups.add(pgid);
    return () => groups.delete(pgid);
}

/** A memory cgroup's counters (cgroup v1; `total_*` of memory.stat include child cgroups). */
export interface MemoryStats {
    /** memory.usage_in_bytes: what the limit is compared with (anonymous + page cache + kernel). */
    readonly usage: number;
    /** memory.max_usage_in_bytes: the peak of usage. */
    readonly maxUsage: number;
    /** memory.failcnt: charges that hit the limit (each one made the kernel reclaim). */
    readonly failcnt: number;
    readonly limit: number;
    readonly rss: number;
    readonly cache: number;
    readonly mappedFile: number;
    readonly dirty: number;
    readonly inactiveFile: number;
    readonly activeFile: number;
    /** Processes killed by the OOM killer in this cgroup (memory.oom_control oom_kill). */
    readonly oomKill: number;
}

export function readMemory(dir: string): MemoryStats {
    const num = (file: string) => Number(fs.readFileSync(path.join(dir, file), "utf8").trim());
    const stat = keyValues(fs.readFileSync(path.join(dir, "memory.stat"), "utf8"));
    const oom = keyValues(fs.readFileSync(path.join(dir, "memory.oom_control"), "utf8"));
    return {
        usage: num("memory.usage_in_bytes"),
        maxUsage: num("memory.max_usage_in_bytes"),
        failcnt: num("memory.failcnt"),
        limit: num("memory.limit_in_bytes"),
        rss: stat.total_rss ?? 0,
        cache: stat.total_cache ?? 0,
        mappedFile: stat.total_mapped_file ?? 0,
        dirty: stat.total_dirty ?? 0,
        inactiveFile: stat.total_inactive_file ?? 0,
        activeFile: stat.total_active_file ?? 0,
        oomKill: oom.oom_kill ?? 0,
    };
}

/** CPU time a cgroup used and how long the CFS quota (the CPU limit) held it back. */
export interface CpuStats {
    /** cpuacct.usage: CPU seconds used by every process in the cgroup. */
    readonly cpuSeconds: number;
    /** cpu.stat throttled_time: seconds the cgroup's threads were throttled by its quota. */
    readonly throttledSeconds: number;
}

/** CPU counters of a cgroup given its memory cgroup directory (the same path under cpuacct and cpu). */
export function readCpu(memoryDir: string): CpuStats {
    const rel = path.relative(path.join(CGROUP_ROOT, "memory"), memoryDir);
    const usage = Number(fs.readFileSync(path.join(CGROUP_ROOT, "cpuacct", rel, "cpuacct.usage"), "utf8"));
    const stat = keyValues(fs.readFileSync(path.join(CGROUP_ROOT, "cpu", rel, "cpu.stat"), "utf8"));
    return { cpuSeconds: usage / 1e9, throttledSeconds: (stat.throttled_time ?? 0) / 1e9 };
}

function keyValues(text: string): Record<string, number> {
    return Object.fromEntries(
        text
            .trim()
            .split("\n")
            .map((line) => line.split(/\s+/))
            .map(([k, v]) => [k, Number(v)]),
    );
}

/**
 * A local cgroup with a pod's limits (memory bytes, CPUs as a CFS quota), for
 * the loopback emulation: processes moved into it right after their start are
 * charged and throttled as in a pod (their children inherit it).
 */
export class LocalCgroup {
    private readonly memory: string;
    private readonly cpu: string;
    private readonly cpuacct: string;

    constructor(name: string, memoryBytes: number, cpus: number) {
        this.memory = path.join(CGROUP_ROOT, "memory", name);
        this.cpu = path.join(CGROUP_ROOT, "cpu", name);
        this.cpuacct = path.join(CGROUP_ROOT, "cpuacct", name);
        fs.mkdirSync(this.memory);
        fs.mkdirSync(this.cpu);
        fs.mkdirSync(this.cpuacct);
        fs.writeFileSync(path.join(this.memory, "memory.limit_in_bytes"), String(memoryBytes));
        fs.writeFileSync(path.join(this.cpu, "cpu.cfs_period_us"), "100000");
        fs.writeFileSync(path.join(this.cpu, "cpu.cfs_quota_us"), String(Math.round(cpus * 100000)));
        installHandlers();
        cgroupDirs.add(this.memory);
        cgroupDirs.add(this.cpu);
        cgroupDirs.add(this.cpuacct);
    }

    add(pid: number): void {
        for (const dir of [this.memory, this.cpu, this.cpuacct]) {
            fs.writeFileSync(path.join(dir, "cgroup.procs"), String(pid));
        }
    }

    stats(): MemoryStats {
        return readMemory(this.memory);
    }

    cpuStats(): CpuStats {
        return readCpu(this.memory);
    }

    /** Removes the cgroups once their processes are gone (page cache charged to them moves to the parent). */
    async remove(): Promise<void> {
        for (const dir of [this.memory, this.cpu, this.cpuacct]) {
            for (let i = 0; i < 50 && fs.existsSync(dir); i++) {
                try {
                    fs.rmdirSync(dir);
                } catch {
                    await new Promise((r) => setTimeout(r, 200));
                }
            }
            cgroupDirs.delete(dir);
        }
    }
}

/** Drops these files' pages from the page cache (as on a node that has not read them yet). */
export function evictPageCache(files: readonly string[]): void {
    spawnSync("sync", []);
    for (const file of files) {
        // GNU dd: iflag=nocache with count=0 drops the whole file's cached pages.
        execFileSync("dd", [`if=${file}`, "iflag=nocache", "count=0", "status=none"]);
    }
}

/**
 * A process's start as a `performance.now()` value of this process (10 ms
 * resolution: /proc/<pid>/stat counts clock ticks since boot, /proc/uptime
 * gives the boot clock now).
 */
export function processStartPerf(pid: number): number {
    const now = performance.now();
    const uptime = Number(fs.readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const startTicks = Number(fields[19]);
    return now - (uptime - startTicks / 100) * 1000;
}

/** Bytes under a directory as `du -sb` counts them (symlinks not followed); 0 when absent. */
export function duBytes(dir: string): number {
    if (!fs.existsSync(dir)) {
        return 0;
    }
    const out = spawnSync("du", ["-sb", dir], { encoding: "utf8" });
    return Number(out.stdout.split("\t")[0]) || 0;
}

/** The 1-minute load average, for each result (others use this machine too). */
export function loadAverage(): number {
    return os.loadavg()[0];
}

/** Machine line for the tables. */
export function machineLine(): string {
    const cpu = os.cpus();
    return (
        `${cpu[0].model}, ${cpu.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
        `${os.platform()} ${os.release()}, Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z`
    );
}
