import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { LockHolder, acquireLock } from "../../../components/store";
import { LOCK_WORKER, holdLock } from "../../support/lockHolder";
import { tempDir } from "../../support/tempDir";

const fast = { pollMs: 20 };
const record = (lock: string) => JSON.parse(fs.readFileSync(path.join(lock, "holder.json"), "utf8")) as LockHolder;

/** A lock as another host's holder left it: its record, renewed `renewedMsAgo` ago, with a lease of `leaseMs`. */
function otherHostsLock(lock: string, renewedMsAgo: number, leaseMs: number): void {
    fs.mkdirSync(lock);
    const renewed = new Date(Date.now() - renewedMsAgo).toISOString();
    // A pid that is dead here: on another host it cannot be checked, so it must not count.
    const pid = spawnSync("true").pid!;
    const holder = { host: "other-host", pid, step: "archive", since: renewed, token: "t-1", renewed, leaseMs };
    fs.writeFileSync(path.join(lock, "holder.json"), JSON.stringify(holder));
}

describe("the store lock", () => {
    it("lets one holder in at a time: the second waits until the first releases", async () => {
        const lock = path.join(tempDir("lock-"), "lock");
        const release = await acquireLock(lock, "archive", fast);
        let waited = false;
        const second = acquireLock(lock, "rotate", { ...fast, onWait: () => (waited = true) });
        await new Promise((r) => setTimeout(r, 100));
        assert.ok(waited, "the second holder is told it waits");
        const releasedAt = Date.now();
        release();
        const releaseSecond = await second;
        assert.equal(record(lock).step, "rotate");
        assert.ok(
            Date.parse(record(lock).since) >= releasedAt - 1,
            "since: when it was taken, not when it began waiting",
        );
        releaseSecond();
        assert.equal(fs.existsSync(lock), false);
        assert.deepEqual(fs.readdirSync(path.dirname(lock)), [], "nothing left beside it");
    });

    it("gives up after the wait, naming the holder, how to check it is gone and the exact path to remove", async () => {
        const lock = path.join(tempDir("lock-"), "lock");
        const release = await acquireLock(lock, "archive", fast);
        try {
            const host = os.hostname();
            await assert.rejects(acquireLock(lock, "rotate", { ...fast, waitMs: 100 }), (error: Error) => {
                assert.match(error.message, new RegExp(`locked by archive on ${host} \\(pid ${process.pid}\\)`));
                assert.match(error.message, /lease renewed \d+ s ago/);
                assert.match(error.message, new RegExp(`kubectl get pod ${host}\``));
                assert.match(error.message, new RegExp(`ps -p ${process.pid}\``));
                assert.ok(error.message.endsWith(`remove the lock by hand: rm -r ${lock}`), error.message);
                return true;
            });
        } finally {
            release();
        }
    });

    it("takes over at once the lock of a holder whose process died on this host", async () => {
        const lock = path.join(tempDir("lock-"), "lock");
        const holder = await holdLock(lock);
        holder.child.kill("SIGKILL");
        await new Promise((resolve) => holder.child.on("exit", resolve));
        let why = "";
        const started = Date.now();
        const release = await acquireLock(lock, "rotate", {
            ...fast,
            waitMs: 10_000,
            onTakeOver: (_, reason) => (why = reason),
        });
        assert.match(why, new RegExp(`its process ${holder.child.pid} on this host is gone`));
        assert.ok(Date.now() - started < 10_000, "not by its lease, a minute long");
        release();
    });

    it("takes over another host's holder only once it has not renewed its lease for the lease's length", async () => {
        const lock = path.join(tempDir("lock-"), "lock");
        const renewed = Date.now();
        otherHostsLock(lock, 0, 1500);
        await assert.rejects(acquireLock(lock, "rotate", { ...fast, waitMs: 300 }), /locked by archive on other-host/);
        assert.equal(record(lock).token, "t-1", "still its lock");
        let why = "";
        let takenAt = 0;
        const release = await acquireLock(lock, "rotate", {
            ...fast,
            waitMs: 20_000,
            onTakeOver: (_, reason) => ([why, takenAt] = [reason, Date.now()]),
        });
        assert.match(why, /its lease was last renewed \d+ s ago \(it lasts 2 s\)/);
        assert.ok(
            takenAt - renewed >= 1500,
            `taken over ${takenAt - renewed} ms after its renewal, not before the lease`,
        );
        assert.equal(record(lock).step, "rotate");
        release();
    });

    it("never takes over a live holder that renews its lease, and takes it over once it stops renewing", async () => {
        const lock = path.join(tempDir("lock-"), "lock");
        const leaseMs = 1500;
        const holder = await holdLock(lock, leaseMs);
        try {
            // Waits for more than twice the lease: the renewals keep it live.
            await assert.rejects(
                acquireLock(lock, "rotate", { ...fast, waitMs: 2.5 * leaseMs }),
                new RegExp(`locked by archive on ${os.hostname()} \\(pid ${holder.child.pid}\\)`),
            );
            assert.equal(record(lock).token, holder.token);
            assert.ok(Date.parse(record(lock).renewed) > Date.parse(record(lock).since), "renewed meanwhile");
            // Stopped (its process lives, as a frozen VM's would): no renewal, so its lease expires.
            holder.child.kill("SIGSTOP");
            let why = "";
            const release = await acquireLock(lock, "rotate", {
                ...fast,
                waitMs: 20_000,
                onTakeOver: (_, reason) => (why = reason),
            });
            assert.match(why, /its lease was last renewed \d+ s ago \(it lasts 2 s\)/);
            const mine = record(lock).token;
            // The ex-holder wakes and releases: it must not remove the lock it lost.
            holder.child.kill("SIGCONT");
            await holder.release();
            assert.match(holder.output(), /released/);
            assert.equal(record(lock).token, mine, "the new holder's lock is still there");
            release();
            assert.equal(fs.existsSync(lock), false);
        } finally {
            holder.child.kill("SIGKILL");
        }
    });

    it("keeps the lease of a holder whose own thread is busy for longer than the lease (synchronous work)", async () => {
        const lock = path.join(tempDir("lock-"), "lock");
        const leaseMs = 1000;
        const holder = await holdLock(lock, leaseMs);
        try {
            holder.child.stdin.write("block 4000\n");
            await assert.rejects(
                acquireLock(lock, "rotate", { ...fast, waitMs: 3000 }),
                new RegExp(`locked by archive on ${os.hostname()} \\(pid ${holder.child.pid}\\)`),
            );
            assert.equal(record(lock).token, holder.token);
            assert.doesNotMatch(holder.output(), /unblocked/, "the holder's thread was blocked all along");
            await holder.release();
            assert.equal(fs.existsSync(lock), false, "released once its thread is free");
        } finally {
            holder.child.kill("SIGKILL");
        }
    });

    it("takes over a lock with no record (an older version's crash) only once it is older than a lease", async () => {
        const lock = path.join(tempDir("lock-"), "lock");
        fs.mkdirSync(lock);
        await assert.rejects(acquireLock(lock, "rotate", { ...fast, leaseMs: 60_000, waitMs: 100 }), /no readable/);
        const old = Date.now() / 1000 - 120;
        fs.utimesSync(lock, old, old);
        (await acquireLock(lock, "rotate", { ...fast, leaseMs: 60_000, waitMs: 1000 }))();
    });

    it("lets exactly one of the steps that find a dead holder's lock take it over, every time", async () => {
        const dir = tempDir("lock-race-");
        const lock = path.join(dir, "lock");
        const waves = 6;
        const perWave = 5;
        let dying = 0;
        const codes: (number | null)[] = [];
        for (let wave = 0; wave < waves; wave++) {
            const workers = Array.from({ length: perWave }, (_, i) => {
                // Most die holding the lock, so each wave's waiters race to take over a dead holder's lock.
                const behaviour = i % 3 === 2 ? "release" : "die";
                dying += behaviour === "die" ? 1 : 0;
                const child = spawn(process.execPath, [LOCK_WORKER, "race", lock, dir, behaviour], {
                    stdio: "inherit",
                });
                return new Promise<number | null>((resolve) => child.on("exit", resolve));
            });
            codes.push(...(await Promise.all(workers)));
        }
        const log = fs.readFileSync(path.join(dir, "log"), "utf8").trim().split("\n");
        assert.deepEqual(
            log.filter((line) => line.startsWith("VIOLATION")),
            [],
        );
        const held = log.filter((line) => line.startsWith("held "));
        assert.equal(held.length, waves * perWave, "every worker held the lock");
        const died = held.filter((line) => line.endsWith(" die")).map((line) => line.split(" ")[1]);
        const takenOver = log.filter((line) => line.startsWith("takeover ")).map((line) => line.split(" ")[1]);
        // The last worker to die may have left its lock for no one.
        const left = fs.existsSync(lock) ? [record(lock).token] : [];
        assert.deepEqual(
            [...takenOver, ...left].sort(),
            died.sort(),
            "each dead holder's lock taken over by exactly one",
        );
        assert.equal(died.length, dying);
        assert.deepEqual(codes, Array(waves * perWave).fill(0), "no worker failed");
    });
});
