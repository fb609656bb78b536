/**
 * Pure builders of the Kubernetes objects, one per kind: labels, port and
 * object names, the pod spec and its probes, the rollout's deadline and
 * outcome, the Services, the config object (ConfigMap or Secret), the
 * NetworkPolicy, the PodDisruptionBudget, the autoscaler, the model-store
 * claim and volume, and the memory a pod needs for its versions. Imports only from config/ and torchserve/.
 */
export * from "./autoscaler";
export * from "./configObject";
export * from "./deployerRbac";
export * from "./memoryEstimate";
export * from "./modelStoreVolume";
export * from "./names";
export * from "./networkPolicy";
export * from "./podDisruptionBudget";
export * from "./podSpec";
export * from "./probes";
export * from "./rollout";
export * from "./services";
