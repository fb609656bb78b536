/**
 * The archive and rotation steps: their command lines (what the Command
 * resources run) here; the step scripts themselves (archive.ts, rotate.ts)
 * are entry points run by `node`, imported directly where needed. Imports
 * only from config/ and store/.
 */
export * from "./commands";
