//! The resource types the fake serves, and the discovery documents built from them.

use serde_json::{Value, json};

/// A kind of object served over HTTP: where it lives in the API and how discovery describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    /// API group, `""` for the core group.
    pub group: String,
    /// API version inside the group, e.g. `v1`.
    pub version: String,
    /// Plural resource name used in URLs, e.g. `pods`.
    pub plural: String,
    /// Singular name, e.g. `pod`.
    pub singular: String,
    /// Kind, e.g. `Pod`.
    pub kind: String,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Short names for kubectl, e.g. `po`.
    pub short_names: Vec<String>,
    /// Categories, e.g. `all`.
    pub categories: Vec<String>,
    /// Whether the type has a `/status` subresource (writes to the main resource then keep
    /// the stored status, and `/status` writes change only the status).
    pub has_status: bool,
}

impl ResourceType {
    /// A resource type for `api_version` (`v1`, `apps/v1`), plural name and kind.
    pub fn new(api_version: &str, plural: &str, kind: &str, namespaced: bool) -> Self {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api_version.to_string()),
        };
        ResourceType {
            group,
            version,
            plural: plural.to_string(),
            singular: kind.to_ascii_lowercase(),
            kind: kind.to_string(),
            namespaced,
            short_names: Vec::new(),
            categories: Vec::new(),
            has_status: false,
        }
    }

    /// Sets the short names.
    pub fn short_names(mut self, names: &[&str]) -> Self {
        self.short_names = names.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Puts the type in the `all` category.
    pub fn in_all(mut self) -> Self {
        self.categories = vec!["all".to_string()];
        self
    }

    /// Gives the type a `/status` subresource.
    pub fn with_status(mut self) -> Self {
        self.has_status = true;
        self
    }

    /// `v1` or `group/version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The kind of the list, e.g. `PodList`.
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// `pods` for the core group, `deployments.apps` otherwise (as in error messages).
    pub(crate) fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

/// The resource types every [`crate::FakeCluster`] starts with.
pub fn builtin_resources() -> Vec<ResourceType> {
    let r = ResourceType::new;
    vec![
        r("v1", "configmaps", "ConfigMap", true).short_names(&["cm"]),
        r("v1", "endpoints", "Endpoints", true).short_names(&["ep"]),
        r("v1", "events", "Event", true).short_names(&["ev"]),
        r("v1", "namespaces", "Namespace", false)
            .short_names(&["ns"])
            .with_status(),
        r("v1", "nodes", "Node", false)
            .short_names(&["no"])
            .with_status(),
        r(
            "v1",
            "persistentvolumeclaims",
            "PersistentVolumeClaim",
            true,
        )
        .short_names(&["pvc"])
        .with_status(),
        r("v1", "persistentvolumes", "PersistentVolume", false)
            .short_names(&["pv"])
            .with_status(),
        r("v1", "pods", "Pod", true)
            .short_names(&["po"])
            .in_all()
            .with_status(),
        r("v1", "secrets", "Secret", true),
        r("v1", "serviceaccounts", "ServiceAccount", true).short_names(&["sa"]),
        r("v1", "services", "Service", true)
            .short_names(&["svc"])
            .in_all()
            .with_status(),
        r("apps/v1", "daemonsets", "DaemonSet", true)
            .short_names(&["ds"])
            .in_all()
            .with_status(),
        r("apps/v1", "deployments", "Deployment", true)
            .short_names(&["deploy"])
            .in_all()
            .with_status(),
        r("apps/v1", "replicasets", "ReplicaSet", true)
            .short_names(&["rs"])
            .in_all()
            .with_status(),
        r("apps/v1", "statefulsets", "StatefulSet", true)
            .short_names(&["sts"])
            .in_all()
            .with_status(),
        r("batch/v1", "jobs", "Job", true).in_all().with_status(),
        r("batch/v1", "cronjobs", "CronJob", true)
            .short_names(&["cj"])
            .in_all()
            .with_status(),
        r(
            "networking.k8s.io/v1",
            "networkpolicies",
            "NetworkPolicy",
            true,
        )
        .short_names(&["netpol"]),
        r("networking.k8s.io/v1", "ingresses", "Ingress", true)
            .short_names(&["ing"])
            .with_status(),
        r(
            "networking.k8s.io/v1",
            "ingressclasses",
            "IngressClass",
            false,
        ),
        r(
            "rbac.authorization.k8s.io/v1",
            "clusterrolebindings",
            "ClusterRoleBinding",
            false,
        ),
        r(
            "rbac.authorization.k8s.io/v1",
            "clusterroles",
            "ClusterRole",
            false,
        ),
        r(
            "rbac.authorization.k8s.io/v1",
            "rolebindings",
            "RoleBinding",
            true,
        ),
        r("rbac.authorization.k8s.io/v1", "roles", "Role", true),
    ]
}

const VERBS: [&str; 8] = [
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// `GET /api`.
pub(crate) fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_versions(types: &[ResourceType]) -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for t in types.iter().filter(|t| !t.group.is_empty()) {
        match groups.iter_mut().find(|(g, _)| *g == t.group) {
            Some((_, versions)) => {
                if !versions.contains(&t.version) {
                    versions.push(t.version.clone());
                }
            }
            None => groups.push((t.group.clone(), vec![t.version.clone()])),
        }
    }
    groups
}

fn api_group(group: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({
        "name": group,
        "versions": vs,
        "preferredVersion": vs.first().cloned().unwrap_or(Value::Null),
    })
}

/// `GET /apis`.
pub(crate) fn api_group_list(types: &[ResourceType]) -> Value {
    let groups: Vec<Value> = group_versions(types)
        .iter()
        .map(|(g, vs)| api_group(g, vs))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/{group}`, if the group exists.
pub(crate) fn api_group_doc(types: &[ResourceType], group: &str) -> Option<Value> {
    group_versions(types)
        .iter()
        .find(|(g, _)| g == group)
        .map(|(g, vs)| {
            let mut doc = api_group(g, vs);
            if let Some(o) = doc.as_object_mut() {
                o.insert("kind".into(), json!("APIGroup"));
                o.insert("apiVersion".into(), json!("v1"));
            }
            doc
        })
}

/// `GET /api/v1` or `GET /apis/{group}/{version}`, if that group version exists.
pub(crate) fn api_resource_list(
    types: &[ResourceType],
    group: &str,
    version: &str,
) -> Option<Value> {
    let mut resources = Vec::new();
    for t in types
        .iter()
        .filter(|t| t.group == group && t.version == version)
    {
        let mut entry = json!({
            "name": t.plural,
            "singularName": t.singular,
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": VERBS,
        });
        if let Some(o) = entry.as_object_mut() {
            if !t.short_names.is_empty() {
                o.insert("shortNames".into(), json!(t.short_names));
            }
            if !t.categories.is_empty() {
                o.insert("categories".into(), json!(t.categories));
            }
        }
        resources.push(entry);
        if t.has_status {
            resources.push(json!({
                "name": format!("{}/status", t.plural),
                "singularName": "",
                "namespaced": t.namespaced,
                "kind": t.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
        if t.group.is_empty() && t.plural == "pods" {
            resources.push(json!({
                "name": "pods/exec", "singularName": "", "namespaced": true,
                "kind": "PodExecOptions", "verbs": ["create", "get"],
            }));
            resources.push(json!({
                "name": "pods/log", "singularName": "", "namespaced": true,
                "kind": "Pod", "verbs": ["get"],
            }));
        }
    }
    if resources.is_empty() {
        return None;
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }))
}

/// `GET /version`.
pub(crate) fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0",
        "gitCommit": "70d3cc986aa8221cd1dfb1121852688902d3bf53",
        "gitTreeState": "clean",
        "buildDate": "2024-12-11T17:59:15Z",
        "goVersion": "go1.23.3",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

fn gv_prefix(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `GET /openapi/v3`: one entry per group version. kubectl reads it to learn that the
/// server validates fields itself (`fieldValidation`), which `kubectl apply` needs.
pub(crate) fn openapi_v3_root(types: &[ResourceType]) -> Value {
    let mut paths = serde_json::Map::new();
    for t in types {
        let prefix = gv_prefix(&t.group, &t.version);
        paths.insert(
            prefix.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{prefix}?hash=fake")}),
        );
    }
    json!({"paths": paths})
}

/// `GET /openapi/v3/api/v1` etc.: a minimal document with one PATCH operation per kind,
/// carrying `x-kubernetes-group-version-kind` and the write query parameters.
pub(crate) fn openapi_v3_doc(types: &[ResourceType], prefix: &str) -> Option<Value> {
    let mut paths = serde_json::Map::new();
    for t in types
        .iter()
        .filter(|t| gv_prefix(&t.group, &t.version) == prefix)
    {
        let path = if t.namespaced {
            format!("/{prefix}/namespaces/{{namespace}}/{}/{{name}}", t.plural)
        } else {
            format!("/{prefix}/{}/{{name}}", t.plural)
        };
        let params: Vec<Value> = ["dryRun", "fieldManager", "fieldValidation", "force"]
            .iter()
            .map(|p| json!({"name": p, "in": "query", "schema": {"type": "string", "uniqueItems": true}}))
            .collect();
        paths.insert(
            path,
            json!({"patch": {
                "operationId": format!("patch{}", t.kind),
                "parameters": params,
                "requestBody": {"content": {
                    "application/apply-patch+yaml": {"schema": {"type": "object"}},
                    "application/merge-patch+json": {"schema": {"type": "object"}},
                    "application/json-patch+json": {"schema": {"type": "object"}},
                }},
                "responses": {"200": {"description": "OK"}},
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": {"group": t.group, "version": t.version, "kind": t.kind},
            }}),
        );
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}

/// The content type of aggregated discovery (`apidiscovery.k8s.io/v2`) answers.
pub(crate) const AGGREGATED_DISCOVERY: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "version": version, "kind": kind})
}

/// Aggregated discovery (`GET /api` or `GET /apis` with
/// `Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`):
/// the core group when `core`, every other group otherwise.
pub(crate) fn aggregated_discovery(types: &[ResourceType], core: bool) -> Value {
    let mut groups: Vec<(String, Vec<String>)> = if core {
        vec![(String::new(), vec!["v1".to_string()])]
    } else {
        group_versions(types)
    };
    groups.retain(|(g, _)| g.is_empty() == core);
    let items: Vec<Value> = groups
        .iter()
        .map(|(group, versions)| {
            let versions: Vec<Value> = versions
                .iter()
                .map(|version| {
                    let resources: Vec<Value> = types
                        .iter()
                        .filter(|t| t.group == *group && t.version == *version)
                        .map(|t| {
                            let response = gvk(group, version, &t.kind);
                            let mut subresources = Vec::new();
                            if t.has_status {
                                subresources.push(json!({"subresource": "status",
                                    "responseKind": response, "verbs": ["get", "patch", "update"]}));
                            }
                            if group.is_empty() && t.plural == "pods" {
                                subresources.push(json!({"subresource": "exec",
                                    "responseKind": gvk("", "v1", "PodExecOptions"), "verbs": ["create", "get"]}));
                                subresources.push(json!({"subresource": "log",
                                    "responseKind": gvk("", "v1", "Pod"), "verbs": ["get"]}));
                            }
                            json!({
                                "resource": t.plural,
                                "responseKind": response,
                                "scope": if t.namespaced { "Namespaced" } else { "Cluster" },
                                "singularResource": t.singular,
                                "verbs": VERBS,
                                "shortNames": t.short_names,
                                "categories": t.categories,
                                "subresources": subresources,
                            })
                        })
                        .collect();
                    json!({"version": version, "resources": resources, "freshness": "Current"})
                })
                .collect();
            let metadata = if group.is_empty() {
                json!({"creationTimestamp": null})
            } else {
                json!({"name": group, "creationTimestamp": null})
            };
            json!({"metadata": metadata, "versions": versions})
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}
