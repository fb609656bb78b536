/**
 * The archive and rotation steps: their command lines (what the Command
 * resources run) here; the step scripts themselves (archive.ts, rotate.ts)
 * are entry points run by `node`, imported directly where needed; and the
 * minimal Kubernetes API reader (the rollout report's, and the program's
 * check of the network plugin). Imports only from config/ and store/.
 */
export * from "./commands";
export { KubeAccess, kubeGet, kubeGetJson, loadKubeAccess } from "./kubeApi";
