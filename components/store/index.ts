/**
 * The model store and the releases kept in it: archive names, each stack's
 * part of the store (layout, owner, lock and its lease, archive records), listing, release
 * planning from the history of successful deploys, rotation planning, content
 * fingerprints (the default version), project-relative paths and file checks.
 * Imports only from config/.
 */
export * from "./archiveNames";
export * from "./files";
export * from "./fingerprint";
export * from "./lockLease";
export * from "./marContents";
export * from "./modelStore";
export * from "./partOwners";
export * from "./projectPaths";
export * from "./release";
export * from "./rotation";
export * from "./storeLayout";
export * from "./storeLock";
export * from "./storeState";
