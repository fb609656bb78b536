/**
 * Serving a new version, against its floor, on real TorchServe 0.12 with the
 * pod's own command line and rendered config (BENCH_TARGET: `pod`, real pods
 * on the local real node, or `loopback`, the pod emulation in a local cgroup
 * with the pod's limits):
 *
 * - serve-formats: start-to-ready of one loaded version per archive format;
 * - serve-floor: the same weights loaded by the handler's own code in a bare
 *   Python process, and TorchServe's frontend start with no model;
 * - serve-versions: one loaded version against three: start-to-ready, the
 *   memory cgroup's counters, bytes written to the temp dir (and, in pods,
 *   the writable layer and logs).
 *
 * Every case of the selected parts runs once per round, rounds repeated
 * BENCH_RUNS times, so drift in the machine's load hits every case alike.
 */
import { BenchStore, ServeCase } from "./support/cases";
import { FORMAT_LABELS, ServeFormat } from "./support/formats";
import { MemoryStats } from "./support/host";
import { ModelSize, formatBytes } from "./support/models";
import { median, row } from "./measure";
import { FloorSample, ServeSample, ServeTarget } from "./support/target";

export interface ServeParts {
    readonly formats: boolean;
    readonly floor: boolean;
    readonly versions: boolean;
}

const ALL_FORMATS: ServeFormat[] = ["zip-store", "default", "dir"];
/** Formats compared at 1 and 3 versions: `.mar` zip-store and the directory (the default since these runs). */
const VERSION_FORMATS: ServeFormat[] = ["zip-store", "dir"];

interface Results {
    readonly serve: Map<string, { c: ServeCase; samples: ServeSample[]; errors: string[] }>;
    readonly load: Map<string, FloorSample[]>;
    readonly frontend: FloorSample[];
}

export async function benchServe(
    target: ServeTarget,
    bench: BenchStore,
    sizes: readonly ModelSize[],
    parts: ServeParts,
    runs: number,
    log: (line: string) => void,
): Promise<{ lines: string[]; perPod: Map<string, number> }> {
    const cases: ServeCase[] = [];
    const key = (c: ServeCase) => `${c.model}x${c.count}`;
    for (const size of sizes) {
        const wanted = new Set<string>();
        if (parts.formats) ALL_FORMATS.forEach((f) => wanted.add(`${f}|1`));
        if (parts.versions) VERSION_FORMATS.forEach((f) => [1, 3].forEach((n) => wanted.add(`${f}|${n}`)));
        for (const w of [...wanted].sort()) {
            const [format, count] = w.split("|");
            log(`preparing ${size.label} ${format} x${count}`);
            cases.push(await bench.serveCase(size, format as ServeFormat, Number(count)));
        }
    }
    const results: Results = { serve: new Map(), load: new Map(), frontend: [] };
    for (const c of cases) results.serve.set(key(c), { c, samples: [], errors: [] });
    const floorSizes = parts.floor || parts.formats ? sizes : [];
    for (const size of floorSizes) results.load.set(size.key, []);

    for (let round = 1; round <= runs; round++) {
        if (floorSizes.length > 0) {
            const f = await target.floorFrontend();
            log(`round ${round} frontend floor ${f.seconds.toFixed(2)} s (load ${f.load.toFixed(2)})`);
            results.frontend.push(f);
        }
        for (const size of floorSizes) {
            const f = await target.floorLoad(await bench.floorFile(size));
            log(`round ${round} ${size.label} bare load ${f.seconds.toFixed(2)} s (load ${f.load.toFixed(2)})`);
            results.load.get(size.key)!.push(f);
        }
        for (const c of cases) {
            const entry = results.serve.get(key(c))!;
            try {
                const s = await target.serve(c);
                entry.samples.push(s);
                log(
                    `round ${round} ${c.size.label} ${c.format} x${c.count}: models ${s.startToModels.toFixed(2)} s` +
                        (s.startToReady !== undefined ? `, Ready ${s.startToReady.toFixed(2)} s` : "") +
                        `, usage ${formatBytes(s.memory.usage)}, max ${formatBytes(s.memory.maxUsage)}, ` +
                        `failcnt ${s.memory.failcnt}, tmp ${formatBytes(s.tmpBytes)}, deaths ${s.workerDeaths}, ` +
                        `answers ${s.answersOk ? "ok" : "WRONG"} (load ${s.load.toFixed(2)})`,
                );
            } catch (error) {
                const message = (error as Error).message.split("\n")[0];
                entry.errors.push(message);
                log(`round ${round} ${c.size.label} ${c.format} x${c.count}: FAILED ${message}`);
            }
        }
    }
    // Per-pod seconds for the rollout model: pod created to Ready (pods), start to ready (loopback).
    const perPod = new Map<string, number>();
    for (const { c, samples } of results.serve.values()) {
        if (samples.length > 0) {
            perPod.set(
                `${c.size.key}|${c.format}|${c.count}`,
                median(samples.map((s) => s.createToReady ?? s.startToModels)),
            );
        }
    }
    return { lines: tables(target, sizes, parts, cases, results, key), perPod };
}

function tables(
    target: ServeTarget,
    sizes: readonly ModelSize[],
    parts: ServeParts,
    cases: ServeCase[],
    results: Results,
    key: (c: ServeCase) => string,
): string[] {
    const lines: string[] = [];
    const med = (xs: number[]) => (xs.length ? median(xs) : NaN);
    const spread = (xs: number[]) => (xs.length ? `${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)}` : "–");
    const loads = (xs: { load: number }[]) =>
        xs.length
            ? `${Math.min(...xs.map((x) => x.load)).toFixed(1)}-${Math.max(...xs.map((x) => x.load)).toFixed(1)}`
            : "–";
    const frontend = med(results.frontend.map((f) => f.seconds));
    const floorOf = (size: ModelSize) => frontend + med(results.load.get(size.key)?.map((f) => f.seconds) ?? []);
    const pod = target.name === "pod";
    const ready = (s: ServeSample) => (pod ? s.startToReady! : s.startToModels);

    if (parts.floor || parts.formats) {
        lines.push(
            `**Floor** (${target.name}): the handler's load (\`torch.jit.load\` + eval + one answer) in a bare Python ` +
                "process, from process start, files evicted from the page cache first; TorchServe's frontend with no " +
                "model until `/ping` answers.",
            "",
            "| model | bare load s (min-max) | bare load CPU s | bare load peak memory | frontend start s | frontend CPU s | floor = load + frontend s | load avg |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        );
        for (const size of sizes) {
            const samples = results.load.get(size.key) ?? [];
            lines.push(
                row([
                    size.label,
                    `${med(samples.map((s) => s.seconds)).toFixed(2)} (${spread(samples.map((s) => s.seconds))})`,
                    med(samples.map((s) => s.cpu.cpuSeconds)),
                    formatBytes(med(samples.map((s) => s.memory.maxUsage))),
                    frontend,
                    med(results.frontend.map((f) => f.cpu.cpuSeconds)),
                    floorOf(size),
                    loads([...samples, ...results.frontend]),
                ]),
            );
        }
        lines.push("");
    }

    const readyLabel = pod ? "container start to Ready s" : "start to ready s";
    if (parts.formats) {
        lines.push(
            `**Start to ready by format, one loaded version** (${target.name}; ${pod ? "Ready = the kubelet's probes passed" : "ready = every worker READY"}):`,
            "",
            `| model | format | store bytes / version | ${readyLabel} (min-max) | × floor | ${pod ? "every worker READY s | × floor | pod created to Ready s | " : ""}frontend up (\`/ping\`) s | temp dir bytes | runs ok | load avg |`,
            `| --- | --- | --- | --- | --- | ${pod ? "--- | --- | --- | " : ""}--- | --- | --- | --- |`,
        );
        for (const c of cases.filter((c) => c.count === 1)) {
            const { samples, errors } = results.serve.get(key(c))!;
            const r = samples.map(ready);
            lines.push(
                row([
                    c.size.label,
                    FORMAT_LABELS[c.format],
                    formatBytes(c.entryBytes),
                    `${med(r).toFixed(2)} (${spread(r)})`,
                    med(r) / floorOf(c.size),
                    ...(pod
                        ? [
                              med(samples.map((s) => s.startToModels)),
                              med(samples.map((s) => s.startToModels)) / floorOf(c.size),
                              med(samples.map((s) => s.createToReady!)),
                          ]
                        : []),
                    med(samples.map((s) => s.startToPing)),
                    formatBytes(med(samples.map((s) => s.tmpBytes))),
                    `${samples.filter((s) => s.answersOk).length}/${samples.length + errors.length}`,
                    loads(samples),
                ]),
            );
        }
        lines.push("");
    }

    if (parts.versions) {
        const m = (samples: ServeSample[], f: (x: MemoryStats) => number) => med(samples.map((s) => f(s.memory)));
        lines.push(
            `**One loaded version vs three** (${target.name}, memory limit and CPU limit of the default pod; memory from the ` +
                `${pod ? "pod's" : "local"} memory cgroup after every version answered once; medians):`,
            "",
            `| model | format | versions | ${readyLabel} (min-max) | usage | max_usage | failcnt | rss | page cache | temp dir bytes | ${pod ? "writable layer + logs | restarts | " : ""}worker deaths | runs ok | load avg |`,
            `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | ${pod ? "--- | --- | " : ""}--- | --- | --- |`,
        );
        for (const c of cases.filter((c) => VERSION_FORMATS.includes(c.format))) {
            const { samples, errors } = results.serve.get(key(c))!;
            const r = samples.map(ready);
            lines.push(
                row([
                    c.size.label,
                    FORMAT_LABELS[c.format],
                    String(c.count),
                    `${med(r).toFixed(2)} (${spread(r)})`,
                    formatBytes(m(samples, (x) => x.usage)),
                    formatBytes(m(samples, (x) => x.maxUsage)),
                    String(Math.round(m(samples, (x) => x.failcnt))),
                    formatBytes(m(samples, (x) => x.rss)),
                    formatBytes(m(samples, (x) => x.cache)),
                    formatBytes(med(samples.map((s) => s.tmpBytes))),
                    ...(pod
                        ? [
                              formatBytes(med(samples.map((s) => (s.writableBytes ?? 0) + (s.logBytes ?? 0)))),
                              String(Math.max(0, ...samples.map((s) => s.restarts))),
                          ]
                        : []),
                    String(Math.max(0, ...samples.map((s) => s.workerDeaths))),
                    `${samples.filter((s) => s.answersOk).length}/${samples.length + errors.length}`,
                    loads(samples),
                ]),
            );
        }
        lines.push("");
    }
    if (parts.versions) {
        lines.push(
            ...memoryModel(
                cases.filter((c) => VERSION_FORMATS.includes(c.format)),
                results,
                key,
            ),
            "",
        );
    }
    lines.push(
        `**Where the time goes** (${target.name}; medians, from TorchServe's log: the frontend registers the versions one ` +
            "after another on its main thread, unpacking a `.mar` into the temp dir, then starts one Python worker " +
            "per version; the workers start and load in parallel):",
        "",
        `| model | format | versions | ${readyLabel} | every worker READY s | CPU s used until then | throttled by the CPU limit s | JVM up to first registration s | registering (unpacking) all versions s | slowest worker: Python start s | slowest worker: model load s |`,
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    );
    for (const c of cases) {
        const { samples } = results.serve.get(key(c))!;
        const b = (f: (x: ServeSample["breakdown"]) => number) => med(samples.map((s) => f(s.breakdown)));
        lines.push(
            row([
                c.size.label,
                FORMAT_LABELS[c.format],
                String(c.count),
                med(samples.map(ready)),
                med(samples.map((s) => s.startToModels)),
                med(samples.map((s) => s.cpu.cpuSeconds)),
                med(samples.map((s) => s.cpu.throttledSeconds)),
                b((x) => x.frontendInit),
                b((x) => x.register),
                b((x) => x.workerStart),
                b((x) => x.workerLoad),
            ]),
        );
    }
    lines.push("");
    const failures = [...results.serve.values()].filter((e) => e.errors.length > 0);
    for (const f of failures) {
        lines.push(`Failures of ${f.c.size.label} ${f.c.format} x${f.c.count}: ${f.errors.join("; ")}`);
    }
    return lines;
}

/**
 * rss = base + n × (perVersion + k × W), fitted by least squares over every
 * (size, format, versions) case's median rss (n loaded versions of W bytes of
 * weights each), plus the page cache and temp-dir bytes per loaded version
 * relative to W, per format.
 */
export function fitMemory(points: readonly { n: number; w: number; rss: number }[]): {
    base: number;
    perVersion: number;
    k: number;
    worst: number;
} {
    // Normal equations for rss = a + b n + c (n w).
    const rows = points.map((p) => [1, p.n, p.n * p.w]);
    const ata = [0, 1, 2].map((i) => [0, 1, 2].map((j) => rows.reduce((sum, r) => sum + r[i] * r[j], 0)));
    const atb = [0, 1, 2].map((i) => rows.reduce((sum, r, m) => sum + r[i] * points[m].rss, 0));
    const [a, b, c] = solve3(ata, atb);
    const worst = Math.max(...points.map((p) => Math.abs(a + b * p.n + c * p.n * p.w - p.rss)));
    return { base: a, perVersion: b, k: c, worst };
}

function solve3(m: number[][], v: number[]): number[] {
    const a = m.map((row, i) => [...row, v[i]]);
    for (let col = 0; col < 3; col++) {
        const pivot = a.reduce(
            (best, row, i) => (i >= col && Math.abs(row[col]) > Math.abs(a[best][col]) ? i : best),
            col,
        );
        [a[col], a[pivot]] = [a[pivot], a[col]];
        for (let r = 0; r < 3; r++) {
            if (r !== col) {
                const f = a[r][col] / a[col][col];
                for (let k = col; k < 4; k++) a[r][k] -= f * a[col][k];
            }
        }
    }
    return a.map((row, i) => row[3] / row[i]);
}

function memoryModel(cases: ServeCase[], results: Results, key: (c: ServeCase) => string): string[] {
    const MiB = 2 ** 20;
    const points: { n: number; w: number; rss: number }[] = [];
    const perFormat = new Map<ServeFormat, { cache: number[]; tmp: number[] }>();
    for (const c of cases) {
        const { samples } = results.serve.get(key(c))!;
        if (samples.length === 0) continue;
        const rss = median(samples.map((s) => s.memory.rss));
        const underLimit = samples.every((s) => s.memory.failcnt === 0);
        points.push({ n: c.count, w: c.modelBytes / MiB, rss: rss / MiB });
        if (c.modelBytes >= 50 * MiB && underLimit) {
            const f = perFormat.get(c.format) ?? { cache: [], tmp: [] };
            f.cache.push(median(samples.map((s) => s.memory.cache)) / (c.count * c.modelBytes));
            f.tmp.push(median(samples.map((s) => s.tmpBytes)) / (c.count * c.modelBytes));
            perFormat.set(c.format, f);
        }
    }
    if (points.length < 3) return [];
    const fit = fitMemory(points);
    return [
        "**Memory model** (least-squares fit over the cases above; W = weights MiB of one version, n = loaded versions):",
        "",
        `- resident (rss, not reclaimable): **${fit.base.toFixed(0)} MiB + n × (${fit.perVersion.toFixed(0)} MiB + ` +
            `${fit.k.toFixed(2)} × W)**; worst case off by ${fit.worst.toFixed(0)} MiB`,
        ...[...perFormat.entries()].map(
            ([format, f]) =>
                `- ${FORMAT_LABELS[format]}: page cache charged to the pod after loading (files read from a cold node, ` +
                `reclaimable) ${median(f.cache).toFixed(2)} × n × W; temp dir ${median(f.tmp).toFixed(2)} × n × W ` +
                "(cases below the limit)",
        ),
    ];
}
