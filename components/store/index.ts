/**
 * The model store as the machine that runs `pulumi up` sees it: archive names,
 * listing, rotation planning, content fingerprints (the default version),
 * project-relative paths and file checks. Imports only from config/.
 */
export * from "./archiveNames";
export * from "./files";
export * from "./fingerprint";
export * from "./modelStore";
export * from "./projectPaths";
export * from "./rotation";
