/** Timing helpers: repeated side-by-side measurements and their medians. */
import { spawnSync } from "node:child_process";

export function median(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Seconds a function takes. */
export async function time(fn: () => unknown): Promise<number> {
    const start = performance.now();
    await fn();
    return (performance.now() - start) / 1000;
}

/** Runs a command and throws with its output when it fails. */
export function sh(
    command: string,
    args: readonly string[],
    options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): string {
    const result = spawnSync(command, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, ...options });
    if (result.status !== 0) {
        throw new Error(`${command} ${args.join(" ")} exited ${result.status}: ${result.stderr || result.stdout}`);
    }
    return result.stdout;
}

/**
 * Measures each case `runs` times, interleaved round by round so drift in the
 * machine's load hits every case alike; returns the medians in seconds.
 */
export async function sideBySide(
    cases: Readonly<Record<string, () => unknown>>,
    runs: number,
): Promise<Record<string, number>> {
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
    for (let round = 0; round < runs; round++) {
        for (const [name, fn] of Object.entries(cases)) {
            samples[name].push(await time(fn));
        }
    }
    return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
}

/** A markdown table row. */
export function row(cells: readonly (string | number)[]): string {
    return `| ${cells.map((c) => (typeof c === "number" ? formatNumber(c) : c)).join(" | ")} |`;
}

function formatNumber(n: number): string {
    return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n >= 0.01 ? n.toFixed(3) : n.toExponential(2);
}
