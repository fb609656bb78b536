/**
 * Pure builders of the Kubernetes objects: labels and port names, the pod
 * spec and its probes, the Services. Imports only from config/ and torchserve/.
 */
export * from "./names";
export * from "./podSpec";
export * from "./probes";
export * from "./services";
