/**
 * A process that takes the store lock, for tests that need a real other holder
 * (run with node: `lockWorker.js hold|race ...`).
 * - `hold <lockDir> <leaseMs>`: takes the lock, prints `held <token>`, and holds it
 *   (renewing) until it reads `release` on stdin; then prints `released`. On `block <ms>`
 *   it blocks its own thread that long (synchronous work), then prints `unblocked`.
 * - `race <lockDir> <dir> die|release`: takes the lock (taking over a dead holder's),
 *   checks it is alone in it (`<dir>/inside` made exclusively, its token still in the
 *   lock), then dies holding it or releases it; appends what it saw to `<dir>/log`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { acquireLock } from "../../components/store";

const [mode, lockDir, ...rest] = process.argv.slice(2);
const tokenIn = (dir: string) => {
    try {
        return (JSON.parse(fs.readFileSync(path.join(dir, "holder.json"), "utf8")) as { token: string }).token;
    } catch {
        return undefined;
    }
};

async function hold(leaseMs: number): Promise<void> {
    const release = await acquireLock(lockDir, "archive", {
        leaseMs,
        pollMs: 20,
        waitMs: 60_000,
        onLost: () => console.log("lost"),
    });
    console.log(`held ${tokenIn(lockDir)}`);
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (text: string) => {
        const block = /block (\d+)/.exec(text);
        if (block) {
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(block[1]));
            console.log("unblocked");
        }
        if (text.includes("release")) {
            release();
            console.log("released");
            process.exit(0);
        }
    });
}

async function race(dir: string, behaviour: string): Promise<void> {
    const log = (line: string) => fs.appendFileSync(path.join(dir, "log"), `${line}\n`);
    const release = await acquireLock(lockDir, "race", {
        // Long: only a dead process's lock is taken over, however loaded the machine.
        leaseMs: 10 * 60_000,
        pollMs: 2,
        waitMs: 5 * 60_000,
        onTakeOver: (holder) => log(`takeover ${holder?.token ?? "none"}`),
    });
    const token = tokenIn(lockDir);
    const inside = path.join(dir, "inside");
    try {
        fs.writeFileSync(inside, String(process.pid), { flag: "wx" });
    } catch {
        log(`VIOLATION ${process.pid} found another holder inside`);
    }
    await new Promise((resolve) => setTimeout(resolve, 3 + Math.random() * 10));
    if (tokenIn(lockDir) !== token) {
        log(`VIOLATION ${process.pid}'s lock was removed or replaced while it held it`);
    }
    fs.rmSync(inside, { force: true });
    log(`held ${token} ${behaviour}`);
    if (behaviour === "release") {
        release();
    }
    process.exit(0);
}

if (mode === "hold") {
    void hold(Number(rest[0]));
} else {
    void race(rest[0], rest[1]);
}
