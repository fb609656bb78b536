/**
 * What the archive and rotation steps share as commands run by `pulumi up`:
 * every line they print carries the step's name, and a failure prints its
 * message and exits 1, which fails the Command resource with that message.
 */

/** Prints one line prefixed with the step's name, so pulumi up's log shows which step said it. */
export function stepLogger(step: string): (message: string) => void {
    return (message) => console.log(`[torchserve-stack ${step}] ${message}`);
}

/** Runs a step's main function as a command: on an error, prints it and exits 1. */
export function runStep(step: string, main: () => unknown): void {
    try {
        main();
    } catch (error) {
        console.error(`[torchserve-stack ${step}] error: ${(error as Error).message}`);
        process.exit(1);
    }
}
