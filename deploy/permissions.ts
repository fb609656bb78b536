/**
 * The deploy command's preflight: before the engine runs (up and --preview),
 * asks the API server, with the credentials the deploy uses, whether they hold
 * every right this run needs in the stack's namespace (SelfSubjectAccessReview:
 * every authenticated user may create one, and it creates nothing). A missing
 * right fails the run at once, naming each missing permission, the step that
 * needs it and the fix, instead of a 403 halfway through the run or an await
 * that hangs because its informer may not list.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ConfigValidationError, DEFAULTS, parseStackConfig } from "../components/config";
import { KubeAccess, kubePostJson, loadKubeAccess } from "../components/cli/kubeApi";
import {
    DEPLOYER_NAME,
    Permission,
    describePermission,
    neededPermissions,
} from "../components/kubernetes/deployerRbac";
import { UsageError } from "./options";

/** What the preflight checks for one run: where, and which rights. */
export interface PermissionPlan {
    readonly namespace: string;
    readonly permissions: readonly Permission[];
    /** The provider's own kubeconfig (stack config `kubernetes:kubeconfig`: a path or the content), if set. */
    readonly kubeconfig?: string;
    /** Stack config `kubernetes:context`, if set. */
    readonly context?: string;
}

/**
 * The rights a run of this stack config needs. The namespace and options come
 * from the program's own parsing of the config (parseStackConfig: `namespace`,
 * default the stack name); undefined when the config does not parse, for the
 * engine then reports its problems as every run does.
 */
export function permissionPlan(
    raw: Readonly<Record<string, string>>,
    project: string,
    stack: string,
    preview: boolean,
): PermissionPlan | undefined {
    let args;
    try {
        args = parseStackConfig(raw, project, stack);
    } catch (error) {
        if (error instanceof ConfigValidationError) {
            return undefined;
        }
        throw error;
    }
    return {
        namespace: args.namespace!,
        permissions: neededPermissions({
            preview,
            createNamespace: args.createNamespace ?? DEFAULTS.createNamespace,
            // Both set is a config error the engine reports; the check then does not ask for the volume.
            modelStoreHostPath: args.modelStoreHostPath !== undefined && args.modelStoreClaimName === undefined,
        }),
        kubeconfig: raw["kubernetes:kubeconfig"] || undefined,
        context: raw["kubernetes:context"] || undefined,
    };
}

/** `system:serviceaccount:<namespace>:<name>` split, when the user is a ServiceAccount. */
function serviceAccountOf(user: string | undefined): { namespace: string; name: string } | undefined {
    const match = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(user ?? "");
    return match ? { namespace: match[1], name: match[2] } : undefined;
}

/** The failure message for missing rights: each one with its step, then the fix. */
export function missingPermissionsMessage(
    missing: readonly Permission[],
    plan: Pick<PermissionPlan, "namespace" | "permissions">,
    user: string | undefined,
): string {
    const account = serviceAccountOf(user);
    const flags = [
        `--namespace ${plan.namespace}`,
        ...(account && account.namespace !== plan.namespace
            ? [`--service-account-namespace ${account.namespace}`]
            : []),
        ...(account && account.name !== DEPLOYER_NAME ? [`--service-account ${account.name}`] : []),
        ...(missing.some((p) => p.scope === "cluster") ? ["--cluster-scoped"] : []),
    ];
    const who = user ? ` (${user})` : "";
    return [
        `the deploy's Kubernetes credentials${who} lack ${missing.length} of the ${plan.permissions.length} ` +
            "permissions this run needs; nothing ran:",
        ...missing.map((p) => `  - ${describePermission(p, plan.namespace)}: ${p.why}`),
        "Fix: apply the shipped RBAC (a Role with exactly these rights, bound to the deploy's ServiceAccount):",
        `  npm run --silent rbac -- ${flags.join(" ")} | kubectl apply -f -`,
        "pipelines/kubeflow/README.md (RBAC) lists each rule and the step that needs it.",
    ].join("\n");
}

interface AccessReview {
    readonly status?: { readonly allowed?: boolean };
}

/** The rights of `permissions` the credentials do not hold, asked of the API server in parallel. */
export async function missingPermissions(
    access: KubeAccess,
    namespace: string,
    permissions: readonly Permission[],
): Promise<Permission[]> {
    const allowed = await Promise.all(
        permissions.map(async (permission) => {
            const [resource, subresource] = permission.resource.split("/");
            const review = await kubePostJson<AccessReview>(
                access,
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                {
                    apiVersion: "authorization.k8s.io/v1",
                    kind: "SelfSubjectAccessReview",
                    spec: {
                        resourceAttributes: {
                            ...(permission.scope === "namespace" ? { namespace } : {}),
                            verb: permission.verb,
                            group: permission.group,
                            resource,
                            ...(subresource ? { subresource } : {}),
                        },
                    },
                },
            );
            return review.status?.allowed === true;
        }),
    );
    return permissions.filter((_, i) => !allowed[i]);
}

/** Who the API server says the credentials are (SelfSubjectReview), or undefined when it does not say. */
async function userOf(access: KubeAccess): Promise<string | undefined> {
    try {
        const review = await kubePostJson<{ status?: { userInfo?: { username?: string } } }>(
            access,
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
        );
        return review.status?.userInfo?.username;
    } catch {
        return undefined;
    }
}

/** What the deploy command hands the preflight. */
export interface PreflightContext {
    /** The Pulumi CLI the engine runs (PulumiCommand's `command`). */
    readonly pulumi: string;
    readonly projectDir: string;
    readonly project: string;
    /** The stack as given (`staging` or `org/project/staging`). */
    readonly stack: string;
    /** This run's config file (the committed stack file plus the run's keys). */
    readonly configFile: string;
    /** The environment the engine runs with (KUBECONFIG for in-cluster credentials). */
    readonly envVars: Readonly<Record<string, string>>;
    readonly preview: boolean;
    readonly progress: (line: string) => void;
}

/**
 * Checks the run's rights; throws a UsageError (exit code 2) naming what is
 * missing. When the check itself cannot run (no kubeconfig, API server not
 * reached, reviews not allowed) it says so and lets the run go on: the
 * engine then fails, or not, as it would without the check.
 */
export async function checkPermissions(context: PreflightContext): Promise<void> {
    let plan: PermissionPlan | undefined;
    let missing: Permission[];
    let user: string | undefined;
    try {
        plan = permissionPlan(
            await runConfig(context),
            context.project,
            context.stack.split("/").pop()!,
            context.preview,
        );
        if (!plan) {
            return;
        }
        const access = loadKubeAccess({
            content: plan.kubeconfig,
            context: plan.context,
            env: { ...process.env, ...context.envVars },
        });
        [missing, user] = await Promise.all([
            missingPermissions(access, plan.namespace, plan.permissions),
            userOf(access),
        ]);
    } catch (error) {
        context.progress(`could not check the deploy's permissions (${(error as Error).message}); going on`);
        return;
    }
    if (missing.length > 0) {
        throw new UsageError(missingPermissionsMessage(missing, plan, user));
    }
    context.progress(`permissions: all ${plan.permissions.length} this run needs in namespace ${plan.namespace}`);
}

/** The stack config exactly as the engine reads it: this run's file, secrets decrypted (the kubeconfig may be one). */
async function runConfig(context: PreflightContext): Promise<Record<string, string>> {
    const { stdout } = await promisify(execFile)(
        context.pulumi,
        ["config", "--show-secrets", "--json", "--stack", context.stack, "--config-file", context.configFile],
        { cwd: context.projectDir, env: { ...process.env, ...context.envVars }, maxBuffer: 64 * 1024 * 1024 },
    );
    return Object.fromEntries(
        Object.entries(JSON.parse(stdout) as Record<string, { value?: unknown }>).map(([key, entry]) => [
            key,
            typeof entry.value === "string" ? entry.value : JSON.stringify(entry.value ?? ""),
        ]),
    );
}
