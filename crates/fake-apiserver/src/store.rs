//! The object store: objects by key, one global resourceVersion counter, a bounded change
//! history for watch replays, and a broadcast channel for live watchers.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

use crate::resources::{ResourceType, builtin_resources};
use crate::util::{new_uid, now_rfc3339};
use crate::{ExecRule, Fault, RecordedRequest};

/// How many changes are kept for watches that resume from an older resourceVersion.
const HISTORY: usize = 10_000;

/// Identifies one object: apiVersion, kind, namespace (`""` if cluster-scoped), name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// `v1`, `apps/v1`, ...
    pub api_version: String,
    /// `Pod`, `DaemonSet`, ...
    pub kind: String,
    /// The namespace, or `""` for cluster-scoped objects.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

impl ObjectKey {
    /// A key from its parts (`namespace: None` for cluster-scoped objects).
    pub fn new(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Self {
        ObjectKey {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            namespace: namespace.unwrap_or_default().to_string(),
            name: name.to_string(),
        }
    }

    /// The key of an object, if it has apiVersion, kind and metadata.name.
    pub fn of(object: &Value) -> Option<Self> {
        Some(ObjectKey {
            api_version: object.get("apiVersion")?.as_str()?.to_string(),
            kind: object.get("kind")?.as_str()?.to_string(),
            namespace: object
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            name: object.pointer("/metadata/name")?.as_str()?.to_string(),
        })
    }
}

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeType {
    Added,
    Modified,
    Deleted,
}

/// One change, as seen by watchers.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub(crate) rv: u64,
    pub(crate) ty: ChangeType,
    pub(crate) key: ObjectKey,
    /// The object before the change (None when added).
    pub(crate) old: Option<Value>,
    /// The object after the change (for a delete: the last state, with the delete's rv).
    pub(crate) new: Value,
}

/// A fault with its remaining uses.
#[derive(Debug, Clone)]
pub(crate) struct ActiveFault {
    pub(crate) fault: Fault,
    pub(crate) remaining: Option<usize>,
}

/// Everything behind the cluster's lock.
pub(crate) struct Inner {
    pub(crate) objects: BTreeMap<ObjectKey, Value>,
    pub(crate) rv: u64,
    pub(crate) history: VecDeque<Arc<Change>>,
    /// Watches that resume from a resourceVersion below this get `410 Expired`.
    pub(crate) history_floor: u64,
    pub(crate) changes: broadcast::Sender<Arc<Change>>,
    pub(crate) resources: Vec<ResourceType>,
    pub(crate) exec_rules: Vec<ExecRule>,
    pub(crate) logs: HashMap<(String, String, String), String>,
    pub(crate) faults: Vec<ActiveFault>,
    pub(crate) requests: Vec<RecordedRequest>,
    /// The longest a graceful Pod deletion really waits here: real grace periods (30 s by
    /// default) shortened so tests stay fast, while a deleted Pod still lingers.
    pub(crate) grace_cap: std::time::Duration,
    /// The simulated nodes, kubelet and controllers, when on.
    pub(crate) sim: Option<crate::sim::Sim>,
    /// Terminal sizes interactive exec sessions received, by `namespace/pod`.
    pub(crate) terminal_sizes: Vec<(String, crate::tty::TerminalSize)>,
    /// Lines typed into interactive shells, by (namespace, pod).
    pub(crate) shell_history: HashMap<(String, String), Vec<String>>,
}

impl Inner {
    pub(crate) fn new() -> Self {
        let (changes, _) = broadcast::channel(4096);
        Inner {
            objects: BTreeMap::new(),
            rv: 1000,
            history: VecDeque::new(),
            history_floor: 0,
            changes,
            resources: builtin_resources(),
            exec_rules: Vec::new(),
            logs: HashMap::new(),
            faults: Vec::new(),
            requests: Vec::new(),
            grace_cap: std::time::Duration::from_secs(1),
            sim: None,
            terminal_sizes: Vec::new(),
            shell_history: HashMap::new(),
        }
    }

    pub(crate) fn resource_for(&self, api_version: &str, kind: &str) -> Option<&ResourceType> {
        self.resources
            .iter()
            .find(|r| r.kind == kind && r.api_version() == api_version)
    }

    pub(crate) fn resource_by_plural(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Option<&ResourceType> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
    }

    pub(crate) fn namespace_exists(&self, ns: &str) -> bool {
        self.objects
            .contains_key(&ObjectKey::new("v1", "Namespace", None, ns))
    }

    /// Fills in what the fixture left out and what the server always sets, without
    /// validating like an HTTP create would: namespace defaults, `Namespace` defaults.
    pub(crate) fn normalize(&self, mut object: Value) -> Result<Value, String> {
        let Some(obj) = object.as_object_mut() else {
            return Err("an object must be a JSON/YAML mapping".into());
        };
        let api_version = obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .ok_or("the object has no apiVersion")?
            .to_string();
        let kind = obj
            .get("kind")
            .and_then(Value::as_str)
            .ok_or("the object has no kind")?
            .to_string();
        let meta = obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(meta) = meta.as_object_mut() else {
            return Err("metadata must be a mapping".into());
        };
        let name = meta
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| format!("the {kind} has no metadata.name"))?
            .to_string();
        match self.resource_for(&api_version, &kind).map(|r| r.namespaced) {
            Some(false) => {
                meta.remove("namespace");
            }
            Some(true) => {
                let has_ns = meta
                    .get("namespace")
                    .and_then(Value::as_str)
                    .is_some_and(|n| !n.is_empty());
                if !has_ns {
                    meta.insert("namespace".into(), json!("default"));
                }
            }
            None => {}
        }
        if api_version == "v1" && kind == "Namespace" {
            namespace_defaults(&mut object, &name);
        }
        Ok(object)
    }

    fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    fn record(&mut self, change: Change) {
        let change = Arc::new(change);
        self.history.push_back(change.clone());
        while self.history.len() > HISTORY {
            if let Some(old) = self.history.pop_front() {
                self.history_floor = old.rv;
            }
        }
        // No receivers is fine.
        let _ = self.changes.send(change);
    }

    /// Stores a normalized object (create or replace), stamping uid, creationTimestamp and a
    /// new resourceVersion, and tells watchers. Returns the stored object.
    pub(crate) fn put(&mut self, mut object: Value) -> Option<Value> {
        let key = ObjectKey::of(&object)?;
        let old = self.objects.get(&key).cloned();
        let rv = self.next_rv();
        let meta = object.get_mut("metadata")?.as_object_mut()?;
        let old_meta = old.as_ref().and_then(|o| o.get("metadata"));
        for field in ["uid", "creationTimestamp"] {
            let missing = meta
                .get(field)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty);
            if missing {
                let value = old_meta
                    .and_then(|m| m.get(field))
                    .cloned()
                    .unwrap_or_else(|| {
                        json!(if field == "uid" {
                            new_uid()
                        } else {
                            now_rfc3339()
                        })
                    });
                meta.insert(field.into(), value);
            }
        }
        meta.insert("resourceVersion".into(), json!(rv.to_string()));
        self.objects.insert(key.clone(), object.clone());
        let ty = if old.is_some() {
            ChangeType::Modified
        } else {
            ChangeType::Added
        };
        self.record(Change {
            rv,
            ty,
            key,
            old,
            new: object.clone(),
        });
        Some(object)
    }

    /// Removes an object and tells watchers. Returns its last state.
    pub(crate) fn remove(&mut self, key: &ObjectKey) -> Option<Value> {
        let original = self.objects.remove(key)?;
        let mut object = original.clone();
        let rv = self.next_rv();
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), json!(rv.to_string()));
        }
        self.record(Change {
            rv,
            ty: ChangeType::Deleted,
            key: key.clone(),
            old: Some(original),
            new: object.clone(),
        });
        Some(object)
    }

    /// Removes a namespace and everything in it at once (the test API's direct hand).
    pub(crate) fn remove_namespace(&mut self, name: &str) -> Option<Value> {
        for k in self.keys_in(name) {
            self.remove(&k);
        }
        self.remove(&ObjectKey::new("v1", "Namespace", None, name))
    }

    /// The keys of every object in a namespace.
    pub(crate) fn keys_in(&self, namespace: &str) -> Vec<ObjectKey> {
        self.objects
            .keys()
            .filter(|k| k.namespace == namespace)
            .cloned()
            .collect()
    }

    /// Objects of one type, optionally in one namespace, in key order.
    pub(crate) fn objects_of<'a>(
        &'a self,
        api_version: &'a str,
        kind: &'a str,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a ObjectKey, &'a Value)> + 'a {
        self.objects.iter().filter(move |(k, _)| {
            k.api_version == api_version
                && k.kind == kind
                && namespace.is_none_or(|ns| k.namespace == ns)
        })
    }
}

/// What a real server adds to every Namespace.
pub(crate) fn namespace_defaults(object: &mut Value, name: &str) {
    let Some(obj) = object.as_object_mut() else {
        return;
    };
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        let labels = meta
            .entry("labels")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(labels) = labels.as_object_mut() {
            labels.insert("kubernetes.io/metadata.name".into(), json!(name));
        }
    }
    if !obj.get("spec").is_some_and(Value::is_object) {
        obj.insert("spec".into(), json!({"finalizers": ["kubernetes"]}));
    }
    let has_phase = obj.get("status").and_then(|s| s.get("phase")).is_some();
    if !has_phase {
        obj.insert("status".into(), json!({"phase": "Active"}));
    }
}
