/**
 * `npm run bench`: what a deploy costs, against its floors. Prints markdown
 * tables of medians (several runs, cases interleaved) for README.
 *
 * Env: BENCH_MIB (model size, default 1024), BENCH_RUNS (default 3),
 * BENCH_PARTS (comma list of archive,hash,eval,startup,pulumi,deploy; default all),
 * BENCH_DIR (scratch directory on the disk to measure, default the system temp dir).
 *
 * The release parts (models of real sizes on real TorchServe; see
 * README, Performance), not in the default list because they take an hour:
 * BENCH_PARTS=serve-mixed,serve-formats,serve-floor,serve-versions,archive-formats,rollout-model
 * (or `release` for all six). BENCH_SIZES (default fixture,100,1024: the
 * fixture and sizes in MiB), BENCH_TARGET (`pod`: real pods on the local real
 * node, started as cluster `tsbench` and stopped at the end, waiting while
 * another cluster holds the node; `loopback`: the pod emulation in a local
 * cgroup with the pod's limits; default pod), BENCH_WORK (a directory to keep
 * the models and store in between runs; default a temporary one),
 * BENCH_ROLLOUT_SIZES (default fixture,100), BENCH_POD_SETTINGS (stack config
 * overrides for the serve pods as JSON, e.g. {"cpuLimit":"2","cpuRequest":"2"}),
 * BENCH_KUBECONFIG (a cluster that already has the real node: not started or
 * stopped by the bench).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { benchArchive, benchHash, makeModelFile } from "./archiveAndHash";
import { benchProgramEvaluation } from "./programEval";
import { benchDeploy } from "./deployBench";
import { benchPulumi } from "./pulumiBench";
import { benchStartup } from "./startup";
import { benchRelease } from "./release";
import { venv } from "../test/e2e/support/environment";
import { HANDLER } from "../test/e2e/support/models";

async function main(): Promise<void> {
    const mib = Number(process.env.BENCH_MIB ?? 1024);
    const runs = Number(process.env.BENCH_RUNS ?? 3);
    const parts = new Set(
        (process.env.BENCH_PARTS ?? "archive,hash,eval,startup,pulumi,deploy")
            .replace("release", "serve-mixed,serve-formats,serve-floor,serve-versions,archive-formats,rollout-model")
            .split(","),
    );
    const keep = process.env.BENCH_WORK;
    const work = keep ?? fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), "tsstack-bench-"));
    fs.mkdirSync(work, { recursive: true });
    const print = (lines: string[]) => console.log(`${lines.join("\n")}\n`);
    const log = (line: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
    try {
        const classic = ["archive", "hash", "eval", "startup", "pulumi", "deploy"].some((p) => parts.has(p));
        print(
            classic
                ? [
                      `Machine: ${os.cpus()[0].model}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`,
                      `Medians of ${runs} runs; model file ${mib} MiB of random bytes on ${work}.`,
                  ]
                : [],
        );
        if (parts.has("archive") || parts.has("hash")) {
            const model = path.join(work, "model.pt");
            makeModelFile(model, mib);
            if (parts.has("archive")) {
                print(await benchArchive(work, model, HANDLER, path.join(venv(), "bin", "torch-model-archiver"), runs));
            }
            if (parts.has("hash")) {
                print(await benchHash(work, model, runs));
            }
            fs.rmSync(model);
        }
        if (parts.has("eval")) {
            print(benchProgramEvaluation(path.join(work, "eval"), [1, 10, 50], 64, runs));
        }
        if (parts.has("startup")) {
            print(await benchStartup(path.join(work, "startup"), runs));
        }
        if (parts.has("pulumi")) {
            print(await benchPulumi(path.join(work, "pulumi"), runs));
        }
        if (parts.has("deploy")) {
            print(await benchDeploy(path.join(work, "deploy"), runs));
        }
        await benchRelease(work, parts, runs, print, log);
    } finally {
        if (!keep) {
            fs.rmSync(work, { recursive: true, force: true });
        }
    }
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
