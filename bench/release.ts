/**
 * The release parts of `npm run bench` (serve-formats, serve-floor,
 * serve-versions, archive-formats, rollout-model): models of real sizes on
 * real TorchServe 0.12, in real pods on the local real node or the pod
 * emulation. Results and what they decide: README, Performance.
 */
import * as path from "node:path";
import { venv } from "../test/e2e/support/environment";
import { benchArchiveFormats } from "./archiveFormats";
import { median } from "./measure";
import { BumpSample, measureRollouts, predictionTable, rolloutTables } from "./rolloutModel";
import { benchMixedStore } from "./mixedStore";
import { benchServe } from "./serve";
import { BenchStore } from "./support/cases";
import { machineLine } from "./support/host";
import { LoopbackTarget } from "./support/loopback";
import { parseSizes } from "./support/models";
import { PodTarget, acquireRealNode, releaseRealNode } from "./support/pods";
import { ServeTarget } from "./support/target";

export async function benchRelease(
    work: string,
    parts: ReadonlySet<string>,
    runs: number,
    print: (lines: string[]) => void,
    log: (line: string) => void,
): Promise<void> {
    const serveParts = {
        formats: parts.has("serve-formats"),
        floor: parts.has("serve-floor"),
        versions: parts.has("serve-versions"),
    };
    const serving = serveParts.formats || serveParts.floor || serveParts.versions;
    const rollout = parts.has("rollout-model");
    if (!serving && !rollout && !parts.has("archive-formats") && !parts.has("serve-mixed")) {
        return;
    }
    const pythonEnv = venv();
    print([`Machine: ${machineLine()}; files on ${work}; ${runs} runs per case, interleaved.`]);
    if (parts.has("serve-mixed")) {
        print(await benchMixedStore(pythonEnv, work));
    }
    const bench = new BenchStore(path.join(work, "release"), pythonEnv);
    const sizes = parseSizes();
    const onPods = (process.env.BENCH_TARGET ?? "pod") === "pod";
    if (!serving && !rollout && !parts.has("archive-formats")) {
        return;
    }

    let archives = new Map<string, Record<string, number>>();
    if (parts.has("archive-formats")) {
        const result = await benchArchiveFormats(bench, sizes, runs, log);
        print(result.lines);
        archives = result.medians;
    }

    const node = (serving && onPods) || rollout ? await acquireRealNode(log) : undefined;
    try {
        let perPod = new Map<string, number>();
        if (serving) {
            const target: ServeTarget = onPods
                ? await PodTarget.start(bench, node!.kubeconfig)
                : new LoopbackTarget(pythonEnv, bench);
            try {
                const result = await benchServe(target, bench, sizes, serveParts, runs, log);
                print(result.lines);
                perPod = result.perPod;
            } finally {
                await target.close();
            }
        }
        if (rollout) {
            const rolloutSizes = parseSizes(process.env.BENCH_ROLLOUT_SIZES ?? "fixture,100");
            const measured = await measureRollouts(bench, node!.kubeconfig, rolloutSizes, runs, log);
            print(rolloutTables(rolloutSizes, measured));
            const all: BumpSample[] = [...measured.values()].flat();
            const overhead = median(all.map((x) => x.overhead));
            const rows: { label: string; archive: number; pod: number }[] = [];
            for (const size of sizes) {
                const bumps = measured.get(size.key) ?? [];
                const a = archives.get(size.key);
                // Sizes without measured bumps: the defaults' parts measured separately (a directory, one version).
                const todayPod = bumps.length
                    ? median(bumps.flatMap((x) => x.podCreatedToReady))
                    : perPod.get(`${size.key}|dir|1`);
                const todayArchive = bumps.length ? median(bumps.map((x) => x.archive)) : a?.["dir-step"];
                const candidates: [string, number | undefined, number | undefined][] = [
                    [`${size.label}, measured bump (the program's defaults)`, todayArchive, todayPod],
                    [
                        `${size.label}, \`.mar\` zip-store, 1 version per pod`,
                        a?.["zip-store"],
                        perPod.get(`${size.key}|zip-store|1`),
                    ],
                    [
                        `${size.label}, directory, 1 version per pod`,
                        a?.["dir-step"] ?? a?.["dir-copy"] ?? a?.dir,
                        perPod.get(`${size.key}|dir|1`),
                    ],
                    [
                        `${size.label}, directory, 3 versions per pod`,
                        a?.["dir-step"] ?? a?.["dir-copy"] ?? a?.dir,
                        perPod.get(`${size.key}|dir|3`),
                    ],
                ];
                for (const [label, archive, pod] of candidates) {
                    if (archive !== undefined && pod !== undefined) rows.push({ label, archive, pod });
                }
            }
            print(predictionTable(overhead, rows));
        }
    } finally {
        if (node?.started) {
            releaseRealNode();
        }
    }
}
