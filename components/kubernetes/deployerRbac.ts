/**
 * The rights a deploy needs, derived from what the program manages and what
 * the Pulumi Kubernetes provider (4.25, server-side apply) and the rollout
 * report do with it: the namespaced Role of the deployer's ServiceAccount, an
 * optional ClusterRole for the cluster-scoped objects two options create, and
 * the manifests that ship them. Pure: the deploy command checks these needs
 * (deploy/permissions.ts), `node bin/deploy/rbac.js` prints the manifests.
 *
 * What the provider does, per kind (provider/pkg/await in its v4.25.0 source):
 * - create and update are server-side apply PATCHes (a preview sends the same
 *   as a dry run); an apply that creates the object is also authorized as
 *   `create`; it never PUTs (`update`) except for CRDs, which the program has none of;
 * - it GETs the live object to diff, read and refresh it;
 * - a delete waits on an informer (list + watch) of the kind in the namespace;
 *   an informer that may not list blocks forever: the run hangs, it does not fail;
 * - the Service await runs informers on services and endpoints;
 * - the Deployment waits for `pulumi.com/waitFor` (rollout.ts), an informer on
 *   deployments, instead of the built-in await and its informers on
 *   replicasets, pods and claims: none of those is needed (the unit test
 *   checks the annotation is there);
 * - the claim bound to the hostPath volume and the volume are polled with GETs
 *   until bound; a dynamically provisioned claim is not awaited (skipAwait);
 * - every await also watches the namespace's events to print their warnings.
 * Objects kept on delete (`retainOnDelete`: the claim, the hostPath volume,
 * the Namespace) are never deleted by a deploy, so no `delete` is granted on them.
 */

/** An API verb the deployer may need. */
export type Verb = "create" | "get" | "list" | "watch" | "patch" | "delete";

/** Where a right applies: the stack's namespace (a Role) or the whole cluster (the ClusterRole). */
export type Scope = "namespace" | "cluster";

/** What a deploy does with a resource, and why, for the rule table and the preflight's messages. */
export interface Need {
    /** API group; "" is the core group. */
    readonly group: string;
    /** Resource name as RBAC spells it, subresources as `pods/log`. */
    readonly resource: string;
    readonly verbs: readonly Verb[];
    readonly scope: Scope;
    /** Whether a preview (server-side dry runs and reads only) needs these verbs too. */
    readonly preview: boolean;
    /** The step that needs them. */
    readonly why: string;
    /** For cluster-scoped needs: the stack config key that makes the program create the object. */
    readonly option?: "modelStoreHostPath" | "createNamespace";
}

/** Server-side apply: PATCH, also authorized as `create` when it creates the object. */
const APPLY: readonly Verb[] = ["create", "patch"];
/** Deleting an object and waiting for it to go (the deletion await's informer). */
const DELETE: readonly Verb[] = ["delete", "list", "watch"];
/** An informer: the provider's awaits. */
const WATCH: readonly Verb[] = ["list", "watch"];

/**
 * A kind the program applies: read, applied, and (unless kept on delete)
 * deleted when replaced, switched off or destroyed. `deletes` says when, if
 * more than that.
 */
function managed(
    group: string,
    resource: string,
    what: string,
    extra: { readonly kept?: boolean; readonly option?: Need["option"]; readonly deletes?: string } = {},
): Need[] {
    // The cluster-scoped kinds are exactly those an option creates.
    const scope: Scope = extra.option ? "cluster" : "namespace";
    const common = { group, resource, scope, ...(extra.option ? { option: extra.option } : {}) };
    const deleteWhy = `delete ${what}${extra.deletes ? ` (${extra.deletes})` : ""} and await the deletion`;
    return [
        { ...common, verbs: ["get"], preview: true, why: `read ${what} (diff, refresh)` },
        { ...common, verbs: APPLY, preview: false, why: `apply ${what} (server-side apply; a preview's dry run too)` },
        ...(extra.kept ? [] : [{ ...common, verbs: DELETE, preview: false, why: deleteWhy }]),
    ];
}

/** A read only a deploy (not a preview) does: an await's informer, or the rollout report's reads. */
function reads(group: string, resource: string, verbs: readonly Verb[], why: string): Need {
    return { group, resource, verbs, scope: "namespace", preview: false, why };
}

/**
 * Every need of a deploy, with every option on. Each (group, resource) pair
 * becomes one rule of the Role or the ClusterRole ({@link rulesOf}).
 */
export const DEPLOYER_NEEDS: readonly Need[] = [
    ...managed("", "configmaps", "the config.properties ConfigMap", {
        deletes: "the previous one after a config change: it is immutable",
    }),
    ...managed("", "secrets", "the config.properties Secret (extraProperties set as a secret)", {
        deletes: "the previous one after a config change: it is immutable",
    }),
    ...managed("", "services", "the Services"),
    reads("", "services", WATCH, "the provider's Service await (informer on services)"),
    reads("", "endpoints", WATCH, "the provider's Service await watches the endpoints (without it the run hangs)"),
    ...managed("", "persistentvolumeclaims", "the model-store claim (kept on delete; polled until bound)", {
        kept: true,
    }),
    ...managed("apps", "deployments", "the Deployment"),
    reads("apps", "deployments", WATCH, "the provider waits for the rollout (pulumi.com/waitFor: an informer)"),
    reads("", "pods", ["list"], "the rollout report lists the stack's pods"),
    reads("", "pods/log", ["get"], "the rollout report reads the failed pods' log tails"),
    reads("", "events", ["list"], "the rollout report lists the failed pods' events"),
    reads("", "events", WATCH, "the provider's awaits print the objects' warning events"),
    ...managed("networking.k8s.io", "networkpolicies", "the NetworkPolicy (networkPolicy)"),
    ...managed("policy", "poddisruptionbudgets", "the PodDisruptionBudget (podDisruptionBudget)"),
    ...managed("autoscaling", "horizontalpodautoscalers", "the autoscaler (autoscaleMaxReplicas)"),
    ...managed("", "persistentvolumes", "the hostPath PersistentVolume (modelStoreHostPath; kept on delete)", {
        kept: true,
        option: "modelStoreHostPath",
    }),
    ...managed("", "namespaces", "the Namespace (createNamespace; kept on delete)", {
        kept: true,
        option: "createNamespace",
    }),
];

/** One RBAC rule (a Role's or ClusterRole's `rules` entry). */
export interface Rule {
    readonly apiGroups: readonly string[];
    readonly resources: readonly string[];
    readonly verbs: readonly Verb[];
}

/** The order verbs are listed in (kubectl's). */
const VERB_ORDER: readonly Verb[] = ["get", "list", "watch", "create", "patch", "delete"];

/** One rule with the steps that need its verbs: a row of the rule table. */
export interface RuleRow {
    readonly rule: Rule;
    readonly steps: readonly { readonly verbs: readonly Verb[]; readonly why: string }[];
}

/** The needs of one scope as rule table rows: one per (group, resource), verbs merged, in the needs' order. */
export function ruleTable(scope: Scope, needs: readonly Need[] = DEPLOYER_NEEDS): RuleRow[] {
    const byResource = new Map<string, Need[]>();
    for (const need of needs.filter((n) => n.scope === scope)) {
        const key = `${need.group}/${need.resource}`;
        byResource.set(key, [...(byResource.get(key) ?? []), need]);
    }
    return [...byResource.values()].map((group) => ({
        rule: {
            apiGroups: [group[0].group],
            resources: [group[0].resource],
            verbs: VERB_ORDER.filter((verb) => group.some((need) => need.verbs.includes(verb))),
        },
        steps: group.map((need) => ({ verbs: need.verbs, why: need.why })),
    }));
}

/** The needs of one scope as RBAC rules (a Role's or ClusterRole's `rules`). */
export function rulesOf(scope: Scope, needs: readonly Need[] = DEPLOYER_NEEDS): Rule[] {
    return ruleTable(scope, needs).map((row) => row.rule);
}

/** One right to check: a verb on a resource, in the stack's namespace or cluster-wide. */
export interface Permission {
    readonly verb: Verb;
    readonly group: string;
    readonly resource: string;
    readonly scope: Scope;
    /** The steps that need it (joined reasons of its needs). */
    readonly why: string;
}

/** What the stack's config turns on that needs cluster-scoped rights. */
export interface ClusterOptions {
    readonly modelStoreHostPath: boolean;
    readonly createNamespace: boolean;
}

/**
 * The rights this run needs, one per verb and resource: every namespaced one
 * (a preview only those it uses), and the cluster-scoped ones of the options
 * the stack turns on.
 */
export function neededPermissions(options: ClusterOptions & { readonly preview: boolean }): Permission[] {
    const rights = new Map<string, { verb: Verb; group: string; resource: string; scope: Scope; why: string[] }>();
    for (const need of DEPLOYER_NEEDS) {
        if (options.preview && !need.preview) {
            continue;
        }
        if (need.option && !options[need.option]) {
            continue;
        }
        for (const verb of need.verbs) {
            const key = `${verb} ${need.group}/${need.resource}`;
            const entry = rights.get(key) ?? {
                verb,
                group: need.group,
                resource: need.resource,
                scope: need.scope,
                why: [],
            };
            entry.why.push(need.why);
            rights.set(key, entry);
        }
    }
    return [...rights.values()].map((right) => ({ ...right, why: right.why.join("; ") }));
}

/** `deployments.apps`, `configmaps`, `pods/log`: a resource as kubectl names it. */
export function resourceName(group: string, resource: string): string {
    return group === "" ? resource : `${resource}.${group}`;
}

/** `create deployments.apps in namespace staging` (or `... cluster-wide`). */
export function describePermission(
    permission: Pick<Permission, "verb" | "group" | "resource" | "scope">,
    namespace: string,
): string {
    const where = permission.scope === "namespace" ? `in namespace ${namespace}` : "cluster-wide";
    return `${permission.verb} ${resourceName(permission.group, permission.resource)} ${where}`;
}

/** The deployer's ServiceAccount, Role and bindings' default name. */
export const DEPLOYER_NAME = "torchserve-deployer";

/** Where the RBAC manifests put things. */
export interface RbacManifestOptions {
    /** The stack's namespace (stack config `namespace`, default the stack name): the Role and RoleBinding. */
    readonly namespace: string;
    /** Where the ServiceAccount lives (e.g. the pipeline's namespace). Default: the stack's namespace. */
    readonly serviceAccountNamespace?: string;
    /** Also the ClusterRole and its binding (`modelStoreHostPath`, `createNamespace`). */
    readonly clusterScoped?: boolean;
    /** The ServiceAccount's name. Default {@link DEPLOYER_NAME}. */
    readonly serviceAccountName?: string;
}

/** The objects to apply: ServiceAccount, Role, RoleBinding, and optionally ClusterRole and ClusterRoleBinding. */
export function rbacManifests(options: RbacManifestOptions): Record<string, unknown>[] {
    const account = options.serviceAccountName ?? DEPLOYER_NAME;
    const accountNamespace = options.serviceAccountNamespace ?? options.namespace;
    const labels = { "app.kubernetes.io/name": "torchserve-stack", "app.kubernetes.io/component": "deployer" };
    const subject = { kind: "ServiceAccount", name: account, namespace: accountNamespace };
    const rbac = "rbac.authorization.k8s.io/v1";
    const objects: Record<string, unknown>[] = [
        { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: account, namespace: accountNamespace, labels } },
        {
            apiVersion: rbac,
            kind: "Role",
            metadata: { name: DEPLOYER_NAME, namespace: options.namespace, labels },
            rules: rulesOf("namespace"),
        },
        {
            apiVersion: rbac,
            kind: "RoleBinding",
            metadata: { name: DEPLOYER_NAME, namespace: options.namespace, labels },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: DEPLOYER_NAME },
            subjects: [subject],
        },
    ];
    if (options.clusterScoped) {
        // One binding per ServiceAccount: the ClusterRole is shared, the binding names whom it is for.
        const clusterName = `${DEPLOYER_NAME}-cluster-scoped`;
        objects.push(
            {
                apiVersion: rbac,
                kind: "ClusterRole",
                metadata: { name: clusterName, labels },
                rules: rulesOf("cluster"),
            },
            {
                apiVersion: rbac,
                kind: "ClusterRoleBinding",
                metadata: { name: `${clusterName}-${accountNamespace}-${account}`, labels },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterName },
                subjects: [subject],
            },
        );
    }
    return objects;
}
