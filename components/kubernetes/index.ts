/**
 * Pure builders of the Kubernetes objects: labels, port and object names, the
 * pod spec and its probes, the Services, the model-store claim and volume.
 * Imports only from config/ and torchserve/.
 */
export * from "./modelStoreVolume";
export * from "./names";
export * from "./podSpec";
export * from "./probes";
export * from "./services";
