/**
 * What the archive and rotation steps share as commands run by `pulumi up`:
 * every line they print carries the step's name; a failure prints its message
 * and exits 1, which fails the Command resource with that message; and an
 * interrupted step (Ctrl-C on `pulumi up`, a cancelled pipeline) stops its
 * children and cleans up before it exits.
 */
import { LockHolder, LockOptions } from "../store";

/** Prints one line prefixed with the step's name, so pulumi up's log shows which step said it. */
export function stepLogger(step: string): (message: string) => void {
    return (message) => console.log(`[torchserve-stack ${step}] ${message}`);
}

/** What a step says about the store lock: that it waits for a holder, took over a gone one's, or lost its own. */
export function lockLogging(log: (message: string) => void): LockOptions {
    const who = (holder: LockHolder | undefined) =>
        holder ? `${holder.step} on ${holder.host} (pid ${holder.pid})` : "an unknown holder";
    return {
        onWait: (holder) => log(`waiting for the store lock held by ${who(holder)}`),
        onTakeOver: (holder, why) => log(`took over the store lock of ${who(holder)}: ${why}`),
        onLost: (holder) => log(`lost the store lock to ${who(holder)}: this step stalled for longer than its lease`),
    };
}

const cleanups = new Set<() => void>();
let handlingSignals = false;

/**
 * Runs `cleanup` if the step is interrupted by a signal (in the order
 * registered, each at most once); returns the function that unregisters it.
 */
export function onInterrupt(cleanup: () => void): () => void {
    if (!handlingSignals) {
        handlingSignals = true;
        for (const [signal, code] of [
            ["SIGINT", 130],
            ["SIGTERM", 143],
            ["SIGHUP", 129],
        ] as const) {
            process.on(signal, () => {
                for (const fn of [...cleanups]) {
                    cleanups.delete(fn);
                    try {
                        fn();
                    } catch {
                        // keep cleaning up
                    }
                }
                console.error(`[torchserve-stack] interrupted by ${signal}; cleaned up`);
                process.exit(code);
            });
        }
    }
    cleanups.add(cleanup);
    return () => cleanups.delete(cleanup);
}

/** Runs a step's main function as a command: on an error, prints it and exits 1. */
export function runStep(step: string, main: () => unknown): void {
    Promise.resolve()
        .then(main)
        .catch((error: Error) => {
            console.error(`[torchserve-stack ${step}] error: ${error.message}`);
            process.exit(1);
        });
}
