/** How program evaluation grows with the number of stacks' worth of models. */
import * as fs from "node:fs";
import * as path from "node:path";
import { makeModelFile } from "./archiveAndHash";
import { median, row, sh } from "./measure";

function evaluate(dir: string, count: number, cacheDir: string): number {
    const out = sh(process.execPath, [path.join(__dirname, "evalHarness.js"), JSON.stringify({ dir, count })], {
        env: { ...process.env, TS_STACK_CACHE: cacheDir },
    });
    return Number(out.slice(out.lastIndexOf("@@SECONDS@@") + "@@SECONDS@@".length).trim());
}

export function benchProgramEvaluation(
    work: string,
    counts: readonly number[],
    modelMib: number,
    runs: number,
): string[] {
    const max = Math.max(...counts);
    for (let i = 0; i < max; i++) {
        const model = path.join(work, `model-${i}`);
        fs.mkdirSync(model, { recursive: true });
        makeModelFile(path.join(model, "model.pt"), modelMib);
        fs.writeFileSync(path.join(model, "handler.py"), `# handler ${i}\n`);
    }
    const lines = [
        `| models (${modelMib} MiB each) | first evaluation s (cold hash cache) | re-evaluation s (warm) | warm s per model |`,
        "| --- | --- | --- | --- |",
    ];
    for (const count of counts) {
        const cold: number[] = [];
        const warm: number[] = [];
        for (let run = 0; run < runs; run++) {
            const cacheDir = fs.mkdtempSync(path.join(work, "cache-"));
            cold.push(evaluate(work, count, cacheDir));
            warm.push(evaluate(work, count, cacheDir));
        }
        lines.push(row([String(count), median(cold), median(warm), median(warm) / count]));
    }
    return lines;
}
